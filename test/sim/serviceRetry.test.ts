/**
 * A client of a service port (a key-value store behind SimulatedService) that retries on timeout.
 * A timeout is ambiguous: the call may have been applied and only its reply lost. Retrying a plain
 * increment then counts twice. The correct twin sends a request id the store deduplicates on, so a
 * retry is idempotent.
 */
import { describe, expect, it } from 'vitest'
import { Actor } from '../../runtime/index.ts'
import { findFailingSeed, forEachSeed, SimErrorCodes, SimulatedService, type AsyncPort, type Simulation } from '../../testing/index.ts'
import { seeds } from './support/seeds.ts'

/** The port, and its in-memory implementation (what a Redis twin would be). */
class Counters {
  readonly values = new Map<string, number>()
  private readonly applied = new Set<string>()
  incr(key: string): number {
    const next = (this.values.get(key) ?? 0) + 1
    this.values.set(key, next)
    return next
  }
  /** Applies `requestId` at most once. */
  incrOnce(key: string, requestId: string): number {
    if (!this.applied.has(requestId)) {
      this.applied.add(requestId)
      this.values.set(key, (this.values.get(key) ?? 0) + 1)
    }
    return this.values.get(key) ?? 0
  }
}

interface World {
  done: boolean
  retries: number
}

class Tally extends Actor<{ run(count: number): Promise<void> }> {
  private readonly store: AsyncPort<Counters>
  private readonly idempotent: boolean
  private readonly world: World
  constructor(store: AsyncPort<Counters>, idempotent: boolean, world: World) {
    super()
    this.store = store
    this.idempotent = idempotent
    this.world = world
  }
  async run(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      for (;;) {
        try {
          // The planted bug: a plain increment, retried after an ambiguous timeout.
          await (this.idempotent ? this.store.incrOnce('visits', `${this.context.name}-${i}`) : this.store.incr('visits'))
          break
        } catch (error) {
          const code = (error as { code?: string }).code
          if (code !== SimErrorCodes.ServiceTimeout && code !== SimErrorCodes.ServiceUnavailable) throw error
          this.world.retries++
        }
      }
    }
    this.world.done = true
  }
}

async function scenario(sim: Simulation, idempotent: boolean): Promise<void> {
  const world: World = { done: false, retries: 0 }
  const process = sim.createProcess('app')
  const counters = new Counters()
  const service = new SimulatedService(sim, counters, {
    name: 'redis',
    process,
    timeoutMs: 50,
    faults: { ambiguousRate: 0.08, timeoutRate: 0.04, failRate: 0.04, stallRate: 0.04, stallMs: 20 },
  })
  sim.createSystem({ name: 'app', process }).spawn(Tally, { name: 'tally', args: [service.client, idempotent, world] }).tell('run', 30)
  await sim.runUntil(() => world.done, 60_000)
  const visits = counters.values.get('visits') ?? 0
  if (visits !== 30) throw new Error(`counted ${visits} visits for 30 increments (${world.retries} retries)`)
}

describe('a client retrying calls to a SimulatedService', () => {
  it('retrying a non-idempotent increment after an ambiguous timeout counts twice: found', async () => {
    const found = await findFailingSeed({ seeds: 20 }, (sim) => scenario(sim, false))
    expect(found?.error.message).toMatch(/counted 3\d visits for 30 increments/)
  })

  it('with a request id the store deduplicates on, every seed counts exactly', async () => {
    await forEachSeed({ seeds: seeds(40) }, (sim) => scenario(sim, true))
  })
})
