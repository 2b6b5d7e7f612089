import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import type { ActorSystem } from '../../../runtime/index.ts'
import { DurableStore, SimErrorCodes, Simulation, SimulatedCluster, TestProbe, applyFaults, describeFaults } from '../../../testing/index.ts'

interface CounterProtocol {
  inc(): void
  /** Counts and writes the count to disk. */
  incDurably(): void
  get(): number
}
/** Keeps a count in memory; `incDurably` also persists it, and a new incarnation starts from disk. */
class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private count: number
  private readonly durable: DurableStore
  constructor(durable: DurableStore) {
    super()
    this.durable = durable
    this.count = durable.get<number>('count') ?? 0
  }
  inc(): void {
    this.count++
  }
  incDurably(): void {
    this.count++
    this.durable.set('count', this.count)
  }
  get(): number {
    return this.count
  }
}

function boot(system: ActorSystem, durable: DurableStore): void {
  system.spawn(Counter, { name: 'counter', registerAs: 'counter', args: [durable] })
}

function cluster(seed = 1) {
  const sim = new Simulation({ seed })
  const c = new SimulatedCluster(sim, { nodes: ['a', 'b', 'c'], boot, network: { latency: { minMs: 1, maxMs: 5 } } })
  return { sim, cluster: c }
}

describe('SimulatedCluster', () => {
  it('joins nodes with Remoting over the simulated network: remote asks work and take virtual time', async () => {
    const { sim, cluster: c } = cluster()
    const remote = c.lookup<CounterProtocol>('c', 'counter', 'a')
    expect(remote?.cell).toBeNull()
    remote?.tell('inc')
    expect(await sim.settle(remote!.ask('get'))).toBe(1)
    expect(sim.now).toBeGreaterThanOrEqual(2)
    expect(c.network.stats.delivered).toBeGreaterThanOrEqual(2)
  })

  it('a crash loses in-memory state; a restart boots a new incarnation from the durable store', async () => {
    const { sim, cluster: c } = cluster()
    const counter = () => c.lookup<CounterProtocol>('b', 'counter') as ActorRef<CounterProtocol>
    counter().tell('incDurably')
    counter().tell('incDurably')
    counter().tell('inc')
    expect(await sim.settle(counter().ask('get'))).toBe(3)
    c.crash('b')
    expect(c.node('b').state).toBe('crashed')
    c.restart('b')
    expect(c.node('b').incarnation).toBe(2)
    expect(await sim.settle(counter().ask('get'))).toBe(2)
  })

  it('a dead incarnation cannot write to the durable store', () => {
    const sim = new Simulation()
    const views: DurableStore[] = []
    const single = new SimulatedCluster(sim, { nodes: 1, boot: (_system, durable) => void views.push(durable) })
    single.crash('n1')
    expect(() => views[0]?.set('k', 1)).toThrow(/has crashed/)
    single.restart('n1')
    views[1]?.set('k', 2)
    expect(single.node('n1').durable.get('k')).toBe(2)
  })

  it('watchers on other nodes hear node-down when a node crashes, through the failure detector', async () => {
    const { sim, cluster: c } = cluster()
    const probe = new TestProbe(sim, c.system('a'))
    const remote = c.lookup<CounterProtocol>('c', 'counter', 'a') as ActorRef<CounterProtocol>
    probe.watch(remote)
    await sim.advance(20)
    const pending = remote.askWith({ timeoutMs: 60_000 }, 'get')
    c.crash('c')
    await expect(sim.settle(pending)).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' })
    const terminated = await probe.expectTerminated(remote, 5000)
    expect(terminated.reason).toEqual({ kind: 'node-down', node: 'c' })
  })

  it('a paused node answers once resumed; meanwhile its peers time out on it', async () => {
    const { sim, cluster: c } = cluster()
    const remote = c.lookup<CounterProtocol>('b', 'counter', 'a')!
    c.pause('b')
    const early = remote.askWith({ timeoutMs: 200 }, 'get')
    await expect(sim.settle(early)).rejects.toMatchObject({ code: 'ERR_ASK_TIMEOUT' })
    c.resume('b')
    expect(await sim.settle(remote.ask('get'))).toBe(0)
  })

  it('applies a fault schedule at virtual times and describes it', async () => {
    const { sim, cluster: c } = cluster()
    const faults = [
      { kind: 'crash', at: 100, node: 'b', restartAfterMs: 50 },
      { kind: 'partition', at: 10, a: ['a'], b: ['b', 'c'], oneWay: false, durationMs: 30 },
      { kind: 'pause', at: 200, node: 'c', durationMs: 20 },
    ] as const
    applyFaults(c, faults)
    expect(describeFaults(faults)).toBe(
      ['t+10: partition {a} | {b,c} for 30 ms', 't+100: crash b, restart after 50 ms', 't+200: pause c for 20 ms'].join('\n'),
    )
    await sim.advance(20)
    expect(c.network.isBlocked('a', 'b')).toBe(true)
    await sim.advance(100)
    expect(c.network.isBlocked('a', 'b')).toBe(false)
    expect(c.node('b').state).toBe('crashed')
    await sim.advance(50)
    expect(c.node('b').incarnation).toBe(2)
    await sim.advance(40)
    expect(c.node('c').state).toBe('paused')
    await sim.advance(20)
    expect(c.node('c').state).toBe('up')
  })

  it('a failing async boot fails the simulation with the node named', async () => {
    const sim = new Simulation()
    new SimulatedCluster(sim, { nodes: ['x'], boot: () => Promise.reject(new Error('no config')) })
    await expect(sim.advance(1)).rejects.toMatchObject({ code: SimErrorCodes.Crashed, message: expect.stringContaining('boot of node x') })
  })
})
