/**
 * Cluster-shared mode: breakers of the same name on different nodes (actor systems joined by
 * Remoting over an in-process network) publish their state changes to each other. Then the
 * Lamport rule on its own: crossing changes converge to the same state on both sides.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ActorSystem } from '../../../../runtime/index.ts'
import { Remoting } from '../../../../transport/index.ts'
import { LoopbackNetwork, waitFor, waitForValue } from '../../../../testing/index.ts'
import {
  BreakerSharing,
  BreakerTransitionTopic,
  spawnBreaker,
  type Breaker,
  type BreakerOptions,
  type BreakerTransition,
  type CircuitBreakerProtocol,
} from '../../../../actors/index.ts'

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

function node(network: LoopbackNetwork, name: string): { system: ActorSystem; events: BreakerTransition[] } {
  const system = ActorSystem.create({ name: 'cluster', node: name, keepAlive: false })
  new Remoting(system, network.attach({ system: 'cluster', node: name, shard: 0 }))
  systems.push(system)
  const events: BreakerTransition[] = []
  system.subscribe(BreakerTransitionTopic, (t) => events.push(t))
  return { system, events }
}

const OPTIONS: BreakerOptions = { name: 'db', windowSize: 2, minimumCalls: 2, waitInOpenMs: 300, permittedCallsInHalfOpen: 1 }

async function pair(): Promise<{ network: LoopbackNetwork; a: Breaker; b: Breaker; aEvents: BreakerTransition[]; bEvents: BreakerTransition[]; nodeB: ActorSystem }> {
  const network = new LoopbackNetwork()
  const nodeA = node(network, 'a')
  const nodeB = node(network, 'b')
  const a = await spawnBreaker(nodeA.system, OPTIONS, { name: 'db' })
  const peerOfB = nodeB.system.refFor<CircuitBreakerProtocol>(a.ref.address)
  const b = await spawnBreaker(nodeB.system, { ...OPTIONS, peers: [peerOfB] }, { name: 'db' })
  await waitForValue(() => a.ref.ask('peers'), (peers) => peers.length === 1)
  return { network, a, b, aEvents: nodeA.events, bEvents: nodeB.events, nodeB: nodeB.system }
}

const fail = (): Promise<never> => Promise.reject(new Error('down'))

describe('cluster-shared breakers', () => {
  it('an opening on one node opens the breaker of the same name on the other, for the rest of the interval', async () => {
    const { a, b, bEvents } = await pair()
    await a.client.execute(fail).catch(() => undefined)
    await a.client.execute(fail).catch(() => undefined)
    a.client.flush()
    await waitFor(() => b.client.state === 'open')
    expect(bEvents.map((e) => [e.to, e.reason])).toEqual([['open', 'peer']])
    await expect(b.client.execute(() => 'x')).rejects.toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED', breaker: 'db', state: 'open' })
    const snapshot = await b.ref.ask('snapshot')
    expect(snapshot.calls).toBe(0) // b saw no failures of its own
  })

  it('a recovery on one node closes the other; operator changes travel both ways', async () => {
    const { a, b, aEvents } = await pair()
    await a.client.execute(fail).catch(() => undefined)
    await a.client.execute(fail).catch(() => undefined)
    a.client.flush()
    await waitFor(() => b.client.state === 'open')
    // b's own interval ends; its probe succeeds, and a closes with it.
    await waitFor(() => b.client.state === 'half_open', { timeoutMs: 5000 })
    expect(await b.client.execute(() => 'ok')).toBe('ok')
    await waitFor(() => a.client.state === 'closed' && b.client.state === 'closed')
    expect(aEvents.at(-1)).toMatchObject({ to: 'closed', reason: 'peer' })

    await b.ref.ask('forceOpen')
    await waitFor(() => a.client.state === 'forced_open')
    await a.ref.ask('reset')
    await waitFor(() => b.client.state === 'closed')
  })

  it('a breaker that joins late learns the current state; a stopped peer is forgotten', async () => {
    const { network, a, b, nodeB } = await pair()
    await a.ref.ask('forceOpen')
    const nodeC = node(network, 'c')
    const c = await spawnBreaker(nodeC.system, { ...OPTIONS, peers: [nodeC.system.refFor<CircuitBreakerProtocol>(a.ref.address)] }, { name: 'db' })
    await waitFor(() => c.client.state === 'forced_open')
    expect(nodeC.events.map((e) => [e.to, e.reason])).toEqual([['forced_open', 'peer']])
    await nodeB.stop(b.ref)
    await waitForValue(() => a.ref.ask('peers'), (peers) => peers.length === 1 && peers[0]!.includes('@c:'))
  })
})

describe('Lamport convergence', () => {
  it('crossing changes end in the same state on both sides', () => {
    const x = new BreakerSharing('db', 'troupe://cluster@a:0/user/db#1')
    const y = new BreakerSharing('db', 'troupe://cluster@b:0/user/db#2')
    // x closes (its probes succeeded) while y opens (its window failed): both stamped 1.
    const fromX = x.outgoing({ breaker: 'db', from: 'half_open', to: 'closed', reason: 'probes_succeeded', at: 0, epoch: 3 })!
    const fromY = y.outgoing({ breaker: 'db', from: 'closed', to: 'open', reason: 'failure_rate', at: 0, epoch: 1, openForMs: 100 })!
    const xTakesY = x.accept(fromY, 'closed')
    const yTakesX = y.accept(fromX, 'open')
    // Exactly one side yields, and it is the same rule on both: the higher origin wins the tie.
    expect([xTakesY, yTakesX]).toEqual([true, false])
    // Stale and foreign changes are refused.
    expect(x.accept(fromY, 'open')).toBe(false)
    expect(x.accept({ ...fromY, breaker: 'other', lamport: 99 }, 'open')).toBe(false)
    // An automatic change does not override an operator state; an operator change does.
    expect(y.accept({ ...fromX, lamport: 5, operator: false }, 'forced_open')).toBe(false)
    expect(y.accept({ ...fromX, lamport: 6, operator: true }, 'forced_open')).toBe(true)
  })
})
