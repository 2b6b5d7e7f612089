/** Gateways and remoting together: a gateway in front of an actor on another node, and two gateways sharing names. */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { Gateway } from '../../../cluster/index.ts'
import { TroupeClient, UnknownActorError } from '../../../client/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'
import { Account, type AccountProtocol } from './fixtures.ts'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function node(url: string, cluster: string, name: string, timeoutMs = 1000): Promise<TestNode> {
  const n = await startNode(url, cluster, name, { transport: { heartbeat: { intervalMs: 100, timeoutMs } } })
  cleanups.push(() => n.stop())
  return n
}

async function gatewayOn(n: TestNode): Promise<Gateway> {
  const gateway = await Gateway.start({ connection: n.connection, system: n.system, namesIntervalMs: 200 })
  cleanups.push(() => gateway.close())
  return gateway
}

async function client(cluster: string): Promise<TroupeClient> {
  const c = await TroupeClient.connect({ servers: inject('natsUrl'), cluster })
  cleanups.push(() => c.close())
  return c
}

describe('gateways in a cluster', () => {
  it('a gateway serves an actor living on another node, and reports that node going down', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('gwc')
    const front = await node(url, cluster, 'front')
    const back = await node(url, cluster, 'back')
    const account = back.system.spawn(Account, { name: 'account' })
    const gateway = await gatewayOn(front)
    await gateway.publish('bank', front.system.refFor<AccountProtocol>(account.address), { methods: ['deposit', 'balance'] })
    const bank = (await client(cluster)).actor<AccountProtocol>('bank')
    expect(await bank.ask('deposit', 40)).toBe(40)
    expect(await bank.ask('balance')).toBe(40)

    await waitFor(() => front.transport.members().includes('back'))
    await back.connection.close()
    await expect(bank.askWith({ timeoutMs: 10_000 }, 'balance')).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
  })

  it('two gateways: each serves its own names, neither answers ERR_UNKNOWN_ACTOR for the other\'s', async () => {
    const url = inject('natsUrl')
    const cluster = uniqueCluster('gwc')
    const one = await node(url, cluster, 'one')
    const two = await node(url, cluster, 'two')
    const g1 = await gatewayOn(one)
    const g2 = await gatewayOn(two)
    await g1.publish('alpha', one.system.spawn(Account, { name: 'alpha' }), { methods: ['deposit', 'balance'] })
    await g2.publish('beta', two.system.spawn(Account, { name: 'beta' }), { methods: ['deposit', 'balance'] })
    await waitFor(() => g1.knownNames().join() === 'alpha,beta' && g2.knownNames().join() === 'alpha,beta')

    const c = await client(cluster)
    const alpha = c.actor<AccountProtocol>('alpha')
    const beta = c.actor<AccountProtocol>('beta')
    for (let i = 1; i <= 20; i++) {
      expect(await alpha.ask('deposit', 1)).toBe(i)
      expect(await beta.ask('deposit', 2)).toBe(2 * i)
    }
    await expect(c.actor<AccountProtocol>('gamma').ask('balance')).rejects.toBeInstanceOf(UnknownActorError)

    // Unpublishing reaches the other gateway: the name becomes unknown everywhere.
    await g2.unpublish('beta')
    await waitFor(() => g1.knownNames().join() === 'alpha')
    await expect(beta.ask('balance')).rejects.toBeInstanceOf(UnknownActorError)
  })
})
