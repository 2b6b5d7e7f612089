import { describe, expect, it } from 'vitest'
import { Actor } from '../../../runtime/index.ts'
import { SimErrorCodes, Simulation } from '../../../testing/index.ts'

interface SleepyProtocol {
  sleepOnHostTimer(): Promise<string>
  stamp(): number
  roll(): number
  log(): void
  nextTick(): Promise<void>
  hang(): Promise<void>
}
class Sleepy extends Actor<SleepyProtocol> implements SleepyProtocol {
  async sleepOnHostTimer(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 1))
    return 'woke'
  }
  stamp(): number {
    return Date.now()
  }
  roll(): number {
    return Math.random()
  }
  log(): void {
    console.log('an actor logging under simulation')
  }
  hang(): Promise<void> {
    // A promise nobody will ever settle (a lost callback, a forgotten resolve).
    return new Promise<void>(() => {})
  }
  async nextTick(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve))
    this.self.tell('log')
  }
}

function world(options: { ambient?: 'error' | 'allow' } = {}) {
  const sim = new Simulation({ seed: 5, ...options })
  const system = sim.createSystem({ name: 'escape' })
  const actor = system.spawn(Sleepy, { name: 'sleepy' })
  return { sim, actor }
}

describe('escape detection', () => {
  it('an actor arming a host timer fails the run with ERR_SIM_ESCAPE naming the actor and the call', async () => {
    const { sim, actor } = world()
    void actor.ask('sleepOnHostTimer').catch(() => {})
    const error = (await sim.runUntilIdle().catch((e: unknown) => e)) as Error & { code: string; data: { api: string; actor: string } }
    expect(error.code).toBe(SimErrorCodes.Escape)
    expect(error.data).toMatchObject({ api: 'setTimeout', actor: '/user/sleepy' })
    expect(error.message).toContain('escape:/user/sleepy called setTimeout')
    expect(error.message).toContain('escape.test.ts')
  })

  it('reading the host clock or host randomness from an actor is an escape too', async () => {
    for (const [method, api] of [
      ['stamp', 'Date.now'],
      ['roll', 'Math.random'],
    ] as const) {
      const { sim, actor } = world()
      actor.tell(method)
      await expect(sim.runUntilIdle()).rejects.toMatchObject({ code: SimErrorCodes.Escape, data: { api } })
    }
  })

  it('library code (a test runner console) may use ambient time; the run is unaffected', async () => {
    const { sim, actor } = world()
    actor.tell('log')
    await sim.runUntilIdle()
    expect(sim.failure).toBeNull()
  })

  it("with ambient: 'allow', a host task completing while the simulator yields is still caught", async () => {
    const { sim, actor } = world({ ambient: 'allow' })
    void actor.ask('nextTick').catch(() => {})
    const error = (await sim.runUntilIdle().catch((e: unknown) => e)) as Error & { code: string }
    expect(error.code).toBe(SimErrorCodes.Escape)
    expect(error.message).toContain('the simulator had handed the event loop to the host')
  })

  it('an actor still awaiting when nothing is left to simulate is reported, not mistaken for idle', async () => {
    const { sim, actor } = world()
    void actor.ask('hang').catch(() => {})
    const error = (await sim.runUntilIdle().catch((e: unknown) => e)) as Error & { code: string; data: { actors: string[] } }
    expect(error.code).toBe(SimErrorCodes.Escape)
    expect(error.data.actors).toEqual(['escape:/user/sleepy'])
    expect(error.message).toContain('still awaiting a promise the simulation cannot settle')
  })

  it('ambient globals are restored when the driver call returns', async () => {
    const before = [globalThis.setTimeout, Date.now, Math.random, performance.now]
    const { sim, actor } = world()
    actor.tell('log')
    const during: unknown[] = []
    sim.after(1, () => during.push(globalThis.setTimeout === before[0]))
    await sim.advance(5)
    expect(during).toEqual([false])
    expect([globalThis.setTimeout, Date.now, Math.random, performance.now]).toEqual(before)
  })
})
