/**
 * The nats-server configuration of docs/security.md, on a real server: external clients cannot touch
 * node subjects, nodes with node credentials still form the cluster, external calls still work.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TroupeClient } from '../../../client/index.ts'
import { Gateway, natsNetwork, natsUplink, resolveConfig, TroupeNode, defineApp, type HeartbeatMembership } from '../../../cluster/index.ts'
import { silentLogger } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { ShardedSystem } from '../../../transport/index.ts'
import { Account, type AccountProtocol } from '../gateway/fixtures.ts'
import { Relay, type RelayProtocol } from '../nats/fixtures/relayApp.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { Echo, type EchoProtocol } from '../../support/remoteActors.ts'
import { DOC_CLUSTER, forgedHeartbeat, forgedTell, startSecuredServer, type SecuredServer } from './fixtures.ts'

const HEARTBEAT = { intervalMs: 100, timeoutMs: 1000 }
let secured: SecuredServer
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  secured = await startSecuredServer()
})
afterAll(async () => {
  await secured.server.stop()
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 30_000)

async function nodeNamed(name: string): Promise<TestNode> {
  const node = await startNode(secured.url, DOC_CLUSTER, name, { connection: { ...secured.node }, transport: { heartbeat: HEARTBEAT } })
  cleanups.push(() => node.stop())
  return node
}

async function clientConnection(): Promise<{ connection: NatsConnection; errors: Error[] }> {
  const connection = await connect({ servers: secured.url, ...secured.client })
  cleanups.push(() => connection.close())
  const errors: Error[] = []
  void (async () => {
    for await (const status of connection.status()) if (status.type === 'error') errors.push(status.error)
  })()
  return { connection, errors }
}

describe('NATS permissions (docs/security.md) on a real nats-server', () => {
  it('refuses strangers and wrong passwords', async () => {
    await expect(connect({ servers: secured.url })).rejects.toMatchObject({ name: 'AuthorizationError' })
    await expect(connect({ servers: secured.url, user: 'node', pass: 'guess' })).rejects.toMatchObject({ name: 'AuthorizationError' })
  })

  it('an external client cannot publish node frames or heartbeats, nor read node traffic: the node receives nothing', async () => {
    const a = await nodeNamed('a')
    const b = await nodeNamed('b')
    await waitFor(() => b.transport.members().includes('a') && a.transport.members().includes('b'))
    const account = b.system.spawn(Account, { name: 'vault' })
    const incarnationOfA = (a.transport.membership as HeartbeatMembership).incarnation

    const { connection, errors } = await clientConnection()
    const frame = await forgedTell(account.address, 'deposit', [1_000_000])
    const framesBefore = b.transport.stats.framesIn
    connection.publish(`troupe.${DOC_CLUSTER}.sys.b.0`, frame)
    connection.publish(`troupe.${DOC_CLUSTER}.hb`, forgedHeartbeat({ type: 'announce', node: 'ghost', incarnation: 'x' }))
    connection.publish(`troupe.${DOC_CLUSTER}.hb`, forgedHeartbeat({ type: 'leave', node: 'a', incarnation: incarnationOfA }))
    connection.subscribe(`troupe.${DOC_CLUSTER}.sys.>`)
    await waitFor(() => errors.length >= 4, { message: 'the server reported four permission violations' })
    expect(errors.map((e) => e.name)).toEqual(Array(4).fill('PermissionViolationError'))
    expect(errors.map((e) => `${(e as { operation?: string }).operation} ${(e as { subject?: string }).subject}`)).toEqual([
      `publish troupe.${DOC_CLUSTER}.sys.b.0`,
      `publish troupe.${DOC_CLUSTER}.hb`,
      `publish troupe.${DOC_CLUSTER}.hb`,
      `subscription troupe.${DOC_CLUSTER}.sys.>`,
    ])

    // A round trip a → b after the forgeries: anything the server had let through would be in by now.
    expect(await a.system.refFor<AccountProtocol>(account.address).ask('balance')).toBe(0)
    expect(await account.ask('balance')).toBe(0)
    expect(b.transport.stats.framesIn - framesBefore).toBe(1) // a's ask, and nothing else
    expect(b.transport.members()).toEqual(['a'])

    // The same frame from a node's credentials is taken: the refusal above is the permissions' doing.
    const insider = await connect({ servers: secured.url, ...secured.node })
    cleanups.push(() => insider.close())
    insider.publish(`troupe.${DOC_CLUSTER}.sys.b.0`, frame)
    await waitFor(() => b.transport.stats.framesIn > framesBefore + 1)
    expect(await account.ask('balance')).toBe(1_000_000)
  })

  it('nodes with node credentials form the cluster and talk, through the node config and worker-shard uplinks too', async () => {
    const a = await nodeNamed('a')
    // Node b as `troupe start` builds it: credentials from the config, NATS wiring by natsNetwork.
    const config = resolveConfig([{ app: 'inline', name: 'b', cluster: DOC_CLUSTER, nats: secured.url, http: '', heartbeatMs: 100, downAfterMs: 1000, natsUser: 'node', natsPassword: secured.node.pass }])
    const b = await TroupeNode.start({ config, app: defineApp({ name: 'inline', actors: { Echo }, start() {} }), logger: silentLogger, network: natsNetwork })
    cleanups.push(async () => void (await b.stop()))
    const echoOnB = b.system.spawn(Echo, { name: 'echo' })
    const echoOnA = a.system.spawn(Echo, { name: 'echo' })
    expect(await a.system.refFor<EchoProtocol>(echoOnB.address).ask('echo', 'a→b')).toBe('echo:a→b')
    expect(await b.system.refFor<EchoProtocol>(echoOnA.address).ask('echo', 'b→a')).toBe('echo:b→a')

    // A sharded node: every worker shard connects with the node's credentials (the server would refuse it otherwise).
    const sharded = await ShardedSystem.create({
      name: DOC_CLUSTER,
      node: 'c',
      shards: 1,
      app: new URL('../nats/fixtures/relayApp.ts', import.meta.url),
      uplink: natsUplink({ servers: [secured.url], heartbeatMs: 100, downAfterMs: 1000, auth: { ...secured.node } }),
    })
    cleanups.push(() => sharded.terminate())
    const onWorker = await sharded.spawn(Relay, { shard: 1 })
    expect(await a.system.refFor<RelayProtocol>(onWorker.address).ask('where')).toEqual({ node: 'c', shard: 1 })
    const relayOnA = a.system.spawn(Relay, { name: 'relay' })
    expect(await onWorker.ask('askPeer', relayOnA.address)).toEqual({ node: 'a', shard: 0 })
  })

  it('external calls through the gateway still work for the client user', async () => {
    const b = await nodeNamed('b')
    const gateway = await Gateway.start({ connection: b.connection, system: b.system })
    cleanups.push(() => gateway.close())
    const account = b.system.spawn(Account, { name: 'account' })
    await gateway.publish('bank', account, { methods: ['deposit', 'balance'] })

    const client = await TroupeClient.connect({ servers: secured.url, cluster: DOC_CLUSTER, nats: { ...secured.client } })
    cleanups.push(() => client.close())
    const bank = client.actor<AccountProtocol>('bank')
    expect(await bank.ask('deposit', 25)).toBe(25)
    bank.tell('deposit', 5) // one-way, then an ask on the same connection: the server keeps their order
    expect(await bank.ask('balance')).toBe(30)
    // msgpack too, and a raw NATS request as any language would send it.
    expect(await bank.askWith({ encoding: 'msgpack' }, 'balance')).toBe(30)
    const { connection } = await clientConnection()
    const reply = await connection.request(`troupe.${DOC_CLUSTER}.call.bank`, JSON.stringify({ method: 'balance' }), { timeout: 5000 })
    expect(reply.json()).toEqual({ ok: 30 })
  })
})
