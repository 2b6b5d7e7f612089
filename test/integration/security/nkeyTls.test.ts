/**
 * A node configured as `troupe start` would be, against a real nats-server that requires mutual TLS
 * and NKey or password users: the node connects with its NKey seed file and client certificate, its
 * gateway with credentials of its own (the node user may not serve calls here), and an external
 * client still calls a published actor.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nkeys } from '@nats-io/nats-core'
import { connect } from '@nats-io/transport-node'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TroupeClient } from '../../../client/index.ts'
import { defineApp, natsConnectOptions, natsNetwork, resolveConfig, TroupeNode, type NatsAuth } from '../../../cluster/index.ts'
import { silentLogger, type ActorRef } from '../../../runtime/index.ts'
import { waitForValue } from '../../../testing/index.ts'
import { startNode } from '../../support/natsNodes.ts'
import { LocalNatsServer } from '../../support/services.ts'
import { Echo, type EchoProtocol } from '../../support/remoteActors.ts'

const CLUSTER = 'vault'
let dir: string
let server: LocalNatsServer
let nodeAuth: NatsAuth
let tls: { caFile: string; certFile: string; keyFile: string }
// nats-server parses a variable's value as a config token: a hex string that starts with a digit can read as a number.
const gatewayPassword = `pw${randomBytes(12).toString('hex')}`
const clientPassword = `pw${randomBytes(12).toString('hex')}`
const cleanups: (() => Promise<void>)[] = []

function openssl(...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`this test makes its TLS certificates with openssl (apt-get install openssl): openssl ${args.join(' ')} failed: ${result.error?.message ?? result.stderr}`)
  }
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all in `dir`. */
function makeCertificates(): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=troupe-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem')
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  for (const [name, extra] of [['server', ['-extfile', 'server.ext']], ['client', []]] as const) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=troupe-test-${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', `${name}.pem`, ...extra)
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-tls-'))
  makeCertificates()
  const user = nkeys.createUser()
  const seedFile = join(dir, 'node.nk')
  writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()), { mode: 0o600 })
  tls = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') }
  nodeAuth = { nkeySeedFile: seedFile, tls }
  const root = `troupe.${CLUSTER}`
  server = await LocalNatsServer.start({
    config: `
tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server.key')}", ca_file: "${tls.caFile}", verify: true }
authorization {
  users = [
    # Nodes: frames and heartbeats only; serving external calls is the gateway user's job here.
    { nkey: "${user.getPublicKey()}", permissions: { publish: ["${root}.sys.>", "${root}.ack.>", "${root}.hb"], subscribe: ["${root}.sys.>", "${root}.ack.>", "${root}.hb"] } }
    { user: "gateway", password: $TEST_GATEWAY_PASSWORD, permissions: { publish: ["${root}.gw.names"], subscribe: ["${root}.call.>", "${root}.gw.names"], allow_responses: true } }
    { user: "client", password: $TEST_CLIENT_PASSWORD, permissions: { publish: ["${root}.call.>"], subscribe: ["_INBOX.>"] } }
  ]
}
`,
    env: { TEST_GATEWAY_PASSWORD: gatewayPassword, TEST_CLIENT_PASSWORD: clientPassword },
  })
})
afterAll(async () => {
  await server?.stop()
  rmSync(dir, { recursive: true, force: true })
})
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
}, 30_000)

describe('NKey, mutual TLS and a gateway connection of its own, on a real nats-server', () => {
  it('refuses a connection without a client certificate', async () => {
    await expect(connect({ servers: server.url, user: 'client', pass: clientPassword, tls: { caFile: tls.caFile }, timeout: 2000, reconnect: false })).rejects.toThrow()
  })

  it('a node connects with its seed file and certificate, its gateway with its own user, and clients call through it', async () => {
    const config = resolveConfig([
      {
        app: 'inline',
        name: 'a',
        cluster: CLUSTER,
        nats: server.url,
        http: '',
        heartbeatMs: 100,
        downAfterMs: 1000,
        natsNkeySeedFile: nodeAuth.nkeySeedFile,
        natsTlsCaFile: tls.caFile,
        natsTlsCertFile: tls.certFile,
        natsTlsKeyFile: tls.keyFile,
        gatewayNatsUser: 'gateway',
        gatewayNatsPassword: gatewayPassword,
      },
    ])
    const app = defineApp({
      name: 'inline',
      actors: { Echo },
      start(context) {
        // The method list is passed for the default-deny publication being built alongside (ignored before it lands).
        const publish = context.publish as (name: string, ref: ActorRef<any>, options: { methods: string[] }) => void
        publish('echo', context.system.spawn(Echo, { name: 'echo' }), { methods: ['echo'] })
      },
    })
    const a = await TroupeNode.start({ config, app, logger: silentLogger, network: natsNetwork })
    cleanups.push(async () => void (await a.stop()))
    const b = await startNode(server.url, CLUSTER, 'b', { connection: natsConnectOptions(nodeAuth), transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => b.stop())

    const echoOnB = b.system.spawn(Echo, { name: 'echo' })
    expect(await a.system.refFor<EchoProtocol>(echoOnB.address).ask('echo', 'a→b')).toBe('echo:a→b')

    const client = await TroupeClient.connect({ servers: server.url, cluster: CLUSTER, nats: { user: 'client', pass: clientPassword, tls } })
    cleanups.push(() => client.close())
    // Published asynchronously by the app; the server answers no-responders until the subscription is in.
    const call = (): Promise<string> => client.actor<EchoProtocol>('echo').ask('echo', 'outside').catch((error: { code?: string }) => `error ${error.code}`)
    expect(await waitForValue(call, (reply) => reply !== 'error ERR_UNKNOWN_ACTOR')).toBe('echo:outside')
  })
})
