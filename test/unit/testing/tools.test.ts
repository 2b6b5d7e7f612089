import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { checkDeterminism, decodeDecisions, encodeDecisions, SimErrorCodes, SimulatedService, Simulation, swarm } from '../../../testing/index.ts'

class Store {
  readonly data = new Map<string, number>()
  incr(key: string): number {
    const next = (this.data.get(key) ?? 0) + 1
    this.data.set(key, next)
    return next
  }
  get(key: string): number {
    return this.data.get(key) ?? 0
  }
}

describe('SimulatedService', () => {
  it('answers after its latency, in virtual time', async () => {
    const sim = new Simulation({ seed: 1 })
    const service = new SimulatedService(sim, new Store(), { name: 'kv', latency: { minMs: 5, maxMs: 5 } })
    expect(await sim.settle(service.client.incr('a'))).toBe(1)
    expect(sim.now).toBe(10)
    expect(service.calls).toMatchObject([{ n: 1, method: 'incr', args: ['a'], fault: null, applied: true }])
  })

  it('fails the n-th call, times out, applies but loses the reply, or stalls, as its plan says', async () => {
    const sim = new Simulation({ seed: 2 })
    const store = new Store()
    const service = new SimulatedService(sim, store, {
      name: 'kv',
      timeoutMs: 100,
      faults: { calls: { 1: { kind: 'fail' }, 2: { kind: 'timeout' }, 3: { kind: 'ambiguous' }, 4: { kind: 'stall', ms: 300 } } },
    })
    const outcome = (p: Promise<unknown>) => sim.settle(p).then(
      (v) => `ok ${String(v)}`,
      (e: { code: string }) => e.code,
    )
    expect(await outcome(service.client.incr('k'))).toBe(SimErrorCodes.ServiceUnavailable)
    expect(await outcome(service.client.incr('k'))).toBe(SimErrorCodes.ServiceTimeout)
    expect(store.get('k')).toBe(0)
    expect(await outcome(service.client.incr('k'))).toBe(SimErrorCodes.ServiceTimeout)
    // The ambiguous call took effect although its caller saw a timeout.
    expect(store.get('k')).toBe(1)
    const before = sim.now
    expect(await outcome(service.client.incr('k'))).toBe('ok 2')
    expect(sim.now - before).toBeGreaterThanOrEqual(300)
    service.failNext({ kind: 'fail' })
    expect(await outcome(service.client.get('k'))).toBe(SimErrorCodes.ServiceUnavailable)
    expect(service.applied).toBe(2)
  })
})

describe('swarm', () => {
  it('draws each seed its own fault mix, the same for the same seed', () => {
    const nodes = ['n1', 'n2', 'n3']
    expect(swarm(7, { nodes })).toEqual(swarm(7, { nodes }))
    const mixes = new Set(Array.from({ length: 40 }, (_, i) => swarm(i, { nodes }).enabled.join(',')))
    expect(mixes.size).toBeGreaterThan(10)
    for (let seed = 0; seed < 40; seed++) {
      const plan = swarm(seed, { nodes, horizonMs: 1000 })
      for (const fault of plan.faults) expect(fault.at).toBeLessThan(1000)
      expect(plan.network.loss ?? 0).toBeLessThanOrEqual(0.3)
    }
  })
})

interface LogProtocol {
  add(entry: string): void
}
class Log extends Actor<LogProtocol> implements LogProtocol {
  readonly entries: string[] = []
  add(entry: string): void {
    this.entries.push(entry)
  }
}
class Writer extends Actor<{ write(log: ActorRef<LogProtocol>, n: number): void }> {
  write(log: ActorRef<LogProtocol>, n: number): void {
    log.tell('add', `${this.context.name}${n}`)
    if (n > 0) this.self.tell('write', log, n - 1)
  }
}

async function race(sim: Simulation): Promise<void> {
  const system = sim.createSystem({ name: 'race' })
  const log = system.spawn(Log)
  for (const name of ['a', 'b', 'c']) system.spawn(Writer, { name }).tell('write', log, 20)
  await sim.runUntilIdle()
}

describe('determinism self-check and decision replay', () => {
  it('passes a deterministic scenario and reports the first divergent event of one that is not', async () => {
    const report = await checkDeterminism(race, { seed: 4 })
    expect(report.events).toBeGreaterThan(50)
    let run = 0
    const flaky = async (sim: Simulation): Promise<void> => {
      // Shared state outside the simulation: the second run does one write less.
      run++
      const system = sim.createSystem({ name: 'flaky' })
      const log = system.spawn(Log)
      system.spawn(Writer, { name: 'a' }).tell('write', log, run === 1 ? 5 : 4)
      await sim.runUntilIdle()
    }
    const error = (await checkDeterminism(flaky, { seed: 4 }).catch((e: unknown) => e)) as { code: string; message: string; data: { event: number } }
    expect(error.code).toBe(SimErrorCodes.Nondeterminism)
    expect(error.message).toContain('run 1 and run 2 differ at event')
    expect(error.data.event).toBeGreaterThan(0)
  })

  it('a recorded run replays from its record alone, and a changed decision point is reported', async () => {
    const recorded = new Simulation({ seed: 9, record: true })
    await race(recorded)
    const record = decodeDecisions(encodeDecisions(recorded.decisions()))
    expect(record.decisions.length).toBeGreaterThan(10)
    const replayed = new Simulation({ replay: record })
    await race(replayed)
    expect(replayed.traceHash).toBe(recorded.traceHash)
    // The record, not the seed's scheduler stream, decides: under PCT the same record replays too.
    const pct = new Simulation({ seed: 9, record: true, strategy: { kind: 'pct', depth: 2 } })
    await race(pct)
    const again = new Simulation({ replay: pct.decisions() })
    await race(again)
    expect(again.traceHash).toBe(pct.traceHash)
    // Code that no longer has actor c at that point diverges, and says where.
    const changed = new Simulation({ replay: record })
    const system = changed.createSystem({ name: 'race' })
    const log = system.spawn(Log)
    for (const name of ['a', 'b']) system.spawn(Writer, { name }).tell('write', log, 20)
    await expect(changed.runUntilIdle()).rejects.toMatchObject({ code: SimErrorCodes.ReplayDiverged })
    expect(() => decodeDecisions('{"format":"other"}')).toThrow()
  })
})
