import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { SimErrorCodes, Simulation } from '../../../testing/index.ts'

interface LogProtocol {
  add(entry: string): void
  entries(): string[]
}
class Log extends Actor<LogProtocol> implements LogProtocol {
  private readonly seen: string[] = []
  add(entry: string): void {
    this.seen.push(entry)
  }
  entries(): string[] {
    return this.seen
  }
}

interface WriterProtocol {
  write(count: number): void
}
/** Writes `count` entries tagged with its name: two writers racing to one log interleave by seed. */
class Writer extends Actor<WriterProtocol> implements WriterProtocol {
  private readonly log: ActorRef<LogProtocol>
  constructor(log: ActorRef<LogProtocol>) {
    super()
    this.log = log
  }
  write(count: number): void {
    for (let i = 0; i < count; i++) this.self.tell('write', 0)
    if (count === 0) this.log.tell('add', this.context.name)
  }
}

interface AsyncProtocol {
  relay(to: ActorRef<LogProtocol>, entry: string): Promise<number>
}
/** An async handler that asks another actor and continues after the reply (a promise continuation). */
class Relay extends Actor<AsyncProtocol> implements AsyncProtocol {
  async relay(to: ActorRef<LogProtocol>, entry: string): Promise<number> {
    to.tell('add', entry)
    const entries = await to.ask('entries')
    to.tell('add', `${entry}:after`)
    return entries.length
  }
}

async function race(seed: number): Promise<{ order: string; hash: string; steps: number }> {
  const sim = new Simulation({ seed })
  const system = sim.createSystem({ name: 'race' })
  const log = system.spawn(Log)
  const writers = ['a', 'b', 'c'].map((name) => system.spawn(Writer, { name, args: [log] }))
  for (const writer of writers) writer.tell('write', 3)
  await sim.runUntilIdle()
  const entries = await sim.settle(log.ask('entries'))
  return { order: entries.join(''), hash: sim.traceHash, steps: sim.steps }
}

describe('Simulation: seeded scheduling', () => {
  it('the same seed gives the same run and the same trace hash', async () => {
    const first = await race(42)
    const second = await race(42)
    expect(second).toEqual(first)
    expect(first.hash).toMatch(/^[0-9a-f]{16}$/)
  })

  it('different seeds explore different interleavings', async () => {
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => race(i + 1)))
    expect(new Set(runs.map((r) => r.hash)).size).toBeGreaterThan(15)
    expect(new Set(runs.map((r) => r.order)).size).toBeGreaterThan(1)
  })

  it('async handlers and asks between actors complete at the same virtual instant', async () => {
    const sim = new Simulation({ seed: 3 })
    const system = sim.createSystem({ name: 's' })
    const log = system.spawn(Log)
    const relay = system.spawn(Relay)
    const count = await sim.settle(relay.ask('relay', log, 'x'))
    expect(count).toBe(1)
    expect(await sim.settle(log.ask('entries'))).toEqual(['x', 'x:after'])
    expect(sim.now).toBe(0)
  })

  it('timers fire in virtual time; equal deadlines fire in creation order within a process, in a seeded order across processes', async () => {
    const orders = new Set<string>()
    for (let seed = 1; seed <= 12; seed++) {
      const sim = new Simulation({ seed })
      const p = sim.createProcess('p')
      const q = sim.createProcess('q')
      const fired: string[] = []
      for (const name of ['a', 'b', 'c']) p.clock.setTimer(100, () => fired.push(name))
      for (const name of ['x', 'y', 'z']) q.clock.setTimer(100, () => fired.push(name))
      p.clock.setTimer(50, () => fired.push('early'))
      await sim.advance(99)
      expect(fired).toEqual(['early'])
      await sim.advance(1)
      expect(fired).toHaveLength(7)
      expect(sim.now).toBe(100)
      // As on a real event loop: one process's equal-deadline timers keep their creation order.
      expect(fired.filter((f) => 'abc'.includes(f))).toEqual(['a', 'b', 'c'])
      expect(fired.filter((f) => 'xyz'.includes(f))).toEqual(['x', 'y', 'z'])
      orders.add(fired.join(''))
    }
    // Across processes the seed decides who goes first.
    expect(orders.size).toBeGreaterThan(1)
  })

  it('runUntilIdle returns when the last ask settles, not at its timeout (a settled ask leaves no timer armed)', async () => {
    const sim = new Simulation({ seed: 3 })
    const system = sim.createSystem({ name: 's', askTimeoutMs: 30_000 })
    const log = system.spawn(Log)
    const relay = system.spawn(Relay)
    expect(await sim.settle(relay.ask('relay', log, 'x'))).toBe(1)
    await sim.runUntilIdle()
    expect(sim.now).toBe(0)
  })

  it('a promise chain 30 microtasks deep (a supervisor restart with async hooks) is no escape under the default depth', async () => {
    class Deep extends Actor<{ work(): Promise<string> }> {
      async work(): Promise<string> {
        for (let i = 0; i < 30; i++) await null
        return 'done'
      }
    }
    const run = async (microtaskDepth?: number) => {
      const sim = new Simulation({ seed: 4, ...(microtaskDepth === undefined ? {} : { microtaskDepth }) })
      const deep = sim.createSystem({ name: 'deep' }).spawn(Deep)
      const answer = deep.ask('work')
      answer.catch(() => {})
      await sim.runUntilIdle()
      return answer
    }
    expect(await run()).toBe('done')
    await expect(run(8)).rejects.toMatchObject({ code: SimErrorCodes.Escape })
  })

  it('a cleared timer never fires', async () => {
    const sim = new Simulation()
    const clock = sim.createProcess('p').clock
    let fired = 0
    const handle = clock.setTimer(10, () => fired++)
    clock.clearTimer(handle)
    await sim.advance(20)
    expect(fired).toBe(0)
  })
})

describe('Simulation: driving', () => {
  it('runUntil stops as soon as the predicate holds', async () => {
    const sim = new Simulation()
    const clock = sim.createProcess('p').clock
    let ticks = 0
    const tick = (): void => {
      ticks++
      clock.setTimer(10, tick)
    }
    clock.setTimer(10, tick)
    await sim.runUntil(() => ticks === 5)
    expect(sim.now).toBe(50)
  })

  it('runUntil fails with ERR_SIM_TIMEOUT after its virtual budget, with the seed in the report', async () => {
    const sim = new Simulation({ seed: 9 })
    const clock = sim.createProcess('p').clock
    const tick = (): void => void clock.setTimer(10, tick)
    clock.setTimer(10, tick)
    const error = await sim.runUntil(() => false, 100).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: SimErrorCodes.Timeout })
    expect((error as Error).message).toContain('TROUPE_SIM_SEED=9')
    expect(sim.now).toBe(100)
  })

  it('runUntil fails fast with ERR_SIM_IDLE when nothing is left that could make it hold', async () => {
    const sim = new Simulation()
    const system = sim.createSystem({ name: 's' })
    system.spawn(Log).tell('add', 'x')
    await expect(sim.runUntil(() => false, 10_000)).rejects.toMatchObject({ code: SimErrorCodes.Idle })
    expect(sim.now).toBe(0)
  })

  it('runUntilIdle returns at the last event and fails on a system that is never idle', async () => {
    const sim = new Simulation()
    const clock = sim.createProcess('p').clock
    clock.setTimer(30, () => {})
    await sim.runUntilIdle()
    expect(sim.now).toBe(30)
    const tick = (): void => void clock.setTimer(10, tick)
    tick()
    await expect(sim.runUntilIdle(1000)).rejects.toMatchObject({ code: SimErrorCodes.Timeout })
  })

  it('runFor reports whether its condition held before the time ran out, without failing', async () => {
    const sim = new Simulation()
    const clock = sim.createProcess('p').clock
    let fired = false
    clock.setTimer(40, () => (fired = true))
    expect(await sim.runFor(30, () => fired)).toBe(false)
    expect(sim.now).toBe(30)
    expect(await sim.runFor(30, () => fired)).toBe(true)
    expect(sim.now).toBe(40)
  })

  it('a livelock at one instant hits the step limit instead of hanging', async () => {
    const sim = new Simulation({ maxStepsPerCall: 10_000 })
    const system = sim.createSystem({ name: 's' })
    const writer = system.spawn(Writer, { args: [system.spawn(Log)] })
    // Writes forever: each message sends itself another.
    writer.tell('write', 1)
    const spin = sim.createProcess('spin')
    const loop = (): void => void spin.clock.setTimer(0, loop)
    loop()
    await expect(sim.runUntilIdle()).rejects.toMatchObject({ code: SimErrorCodes.StepLimit })
  })

  it('one driver call at a time', async () => {
    const sim = new Simulation()
    sim.createProcess('p').clock.setTimer(10, () => {})
    const first = sim.advance(10)
    await expect(sim.advance(10)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    await first
  })
})

describe('Simulation: invariants', () => {
  it('checks invariants after every step and reports seed, step and last events on failure', async () => {
    const sim = new Simulation({ seed: 1234 })
    const system = sim.createSystem({ name: 's' })
    const log = system.spawn(Log)
    const writer = system.spawn(Writer, { name: 'w', args: [log] })
    for (let i = 0; i < 5; i++) writer.tell('write', 0)
    sim.invariant('few deliveries', () => sim.stats.deliveries < 4)
    const error = (await sim.runUntilIdle().catch((e: unknown) => e)) as Error & { code: string; data: { seed: number; step: number } }
    expect(error.code).toBe(SimErrorCodes.Invariant)
    expect(error.message).toContain("invariant 'few deliveries' does not hold")
    expect(error.message).toContain('TROUPE_SIM_SEED=1234')
    expect(error.message).toMatch(/#\d+ t=0 handle/)
    expect(error.data.seed).toBe(1234)
    expect(error.data.step).toBeGreaterThan(0)
    // A failed simulation cannot be driven further.
    await expect(sim.advance(1)).rejects.toMatchObject({ code: SimErrorCodes.Failed })
  })
})

describe('Simulation: processes', () => {
  it('a paused process runs nothing until resumed; then what waited runs in order', async () => {
    const sim = new Simulation()
    const process = sim.createProcess('n1')
    const system = sim.createSystem({ name: 's', process })
    const log = system.spawn(Log)
    const fired: number[] = []
    process.clock.setTimer(10, () => fired.push(1))
    process.clock.setTimer(20, () => fired.push(2))
    process.pause()
    log.tell('add', 'while paused')
    await sim.advance(100)
    expect(fired).toEqual([])
    process.resume()
    await sim.advance(0)
    expect(fired).toEqual([1, 2])
    expect(await sim.settle(log.ask('entries'))).toEqual(['while paused'])
  })

  it('a crashed process loses its queued work and timers; later wakes are discarded as zombies', async () => {
    const sim = new Simulation()
    const process = sim.createProcess('n1')
    const system = sim.createSystem({ name: 's', process })
    const log = system.spawn(Log)
    let fired = false
    process.clock.setTimer(10, () => (fired = true))
    log.tell('add', 'lost')
    process.crash()
    // The crashed system's objects still exist (as a dead process's memory would); waking them does nothing.
    system.spawn(Log).tell('add', 'also lost')
    await sim.advance(100)
    expect(fired).toBe(false)
    expect(sim.stats.zombies).toBeGreaterThan(0)
    expect(sim.stats.deliveries).toBe(0)
  })
})
