import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { SimErrorCodes, Simulation } from '../../../testing/index.ts'

describe('per-node clocks', () => {
  it('a skewed, drifting clock reads off virtual time; its timers fire when it has advanced that far', async () => {
    const sim = new Simulation({ seed: 1 })
    const fast = sim.createProcess('fast')
    const exact = sim.createProcess('exact')
    fast.clock.setSkew(250)
    fast.clock.setDrift(100_000) // 10 % fast
    expect(fast.clock.now()).toBe(250)
    const fired: [string, number][] = []
    fast.clock.setTimer(1100, () => fired.push(['fast', sim.now]))
    exact.clock.setTimer(1100, () => fired.push(['exact', sim.now]))
    await sim.advance(1000)
    expect(fast.clock.now()).toBeCloseTo(1350, 6)
    // 1100 ms on a clock running 10 % fast pass in 1000 virtual ms.
    expect(fired.map(([who]) => who)).toEqual(['fast'])
    expect(fired[0]?.[1]).toBeCloseTo(1000, 6)
    await sim.advance(100)
    expect(fired[1]).toEqual(['exact', 1100])
    expect(fast.clock.driftPpm).toBeCloseTo(100_000, 3)
    expect(exact.clock.skewMs).toBe(0)
  })

  it('the clock model gives each process a seeded, bounded skew and drift', () => {
    const skews = (seed: number) => {
      const sim = new Simulation({ seed, clocks: { maxSkewMs: 200, maxDriftPpm: 500 } })
      return ['a', 'b', 'c'].map((n) => sim.createProcess(n).clock).map((c) => ({ skew: c.skewMs, drift: c.driftPpm }))
    }
    const first = skews(3)
    expect(skews(3)).toEqual(first)
    expect(skews(4)).not.toEqual(first)
    for (const { skew, drift } of first) {
      expect(Math.abs(skew)).toBeLessThanOrEqual(200)
      expect(Math.abs(drift)).toBeLessThanOrEqual(500)
    }
    expect(new Set(first.map((f) => f.skew)).size).toBe(3)
  })
})

interface AmbientProtocol {
  uuid(): string
  hr(): string
  caught(): string
}
class Ambient extends Actor<AmbientProtocol> implements AmbientProtocol {
  uuid(): string {
    return randomUUID()
  }
  hr(): string {
    return String(process.hrtime.bigint())
  }
  caught(): string {
    try {
      return String(Date.now())
    } catch (error) {
      return (error as { code: string }).code
    }
  }
}

describe('strict mode', () => {
  it('an ambient call throws ERR_SIM_ESCAPE at the call site: the actor never sees the host value', async () => {
    const sim = new Simulation({ seed: 2 })
    const actor = sim.createSystem({ name: 'strict' }).spawn(Ambient)
    const answer = actor.ask('caught')
    await expect(sim.runUntilIdle()).rejects.toMatchObject({ code: SimErrorCodes.Escape, data: { api: 'Date.now' } })
    expect(await answer).toBe(SimErrorCodes.Escape)
  })

  it('node:crypto randomness (a named import) and process.hrtime are watched too', async () => {
    for (const [method, api] of [
      ['uuid', 'node:crypto.randomUUID'],
      ['hr', 'process.hrtime.bigint'],
    ] as const) {
      const sim = new Simulation({ seed: 2 })
      const actor = sim.createSystem({ name: 'strict' }).spawn(Ambient)
      actor.ask(method).catch(() => {})
      await expect(sim.runUntilIdle()).rejects.toMatchObject({ code: SimErrorCodes.Escape, data: { api } })
    }
    // Restored once no simulation is driven.
    expect(typeof randomUUID()).toBe('string')
    expect(typeof process.hrtime.bigint()).toBe('bigint')
  })

  it('real I/O settling an awaited promise between driver calls fails the next driver call', async () => {
    class Waiter extends Actor<{ wait(p: Promise<void>): Promise<void> }> {
      async wait(p: Promise<void>): Promise<void> {
        await p
      }
    }
    const sim = new Simulation({ seed: 3 })
    const actor = sim.createSystem({ name: 'io' }).spawn(Waiter)
    let finish = (): void => {}
    const io = new Promise<void>((resolve) => (finish = resolve))
    actor.tell('wait', io)
    await sim.advance(1)
    // The host event loop turns (real I/O), then the promise the actor awaits settles.
    await new Promise((resolve) => setImmediate(resolve))
    finish()
    // The test goes on with other host work meanwhile (the actor's continuation runs now).
    await new Promise((resolve) => setImmediate(resolve))
    await expect(sim.advance(1)).rejects.toMatchObject({ code: SimErrorCodes.Escape })
  })
})
