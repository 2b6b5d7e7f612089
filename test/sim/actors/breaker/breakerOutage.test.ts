/**
 * A circuit breaker guarding a SimulatedService through an outage, over many seeds: an actor calls
 * a database twin every 10 ms through its breaker child's fast path; the database is down from
 * 1 s to 4 s. Each seed must open during the outage and shed the load (of ~300 calls, at most 40
 * reach the down service: those that opened it and the half-open probes; 16 on every seed when
 * written), publish a legal sequence of transitions (one event per transition, each from the state
 * the previous one entered), and be closed and serving again soon after the outage ends.
 */
import { describe, expect, it } from 'vitest'
import { Actor } from '../../../../runtime/index.ts'
import { forEachSeed, SimulatedService, type AsyncPort, type Simulation } from '../../../../testing/index.ts'
import { BreakerTransitionTopic, spawnBreaker, type Breaker, type BreakerTransition } from '../../../../actors/index.ts'
import { seeds } from '../../support/seeds.ts'

class Database {
  down = false
  query(): number {
    if (this.down) throw new Error('connection refused')
    return 1
  }
}

interface World {
  ok: number
  failed: number
  rejected: number
  breaker: Breaker | null
}

class Caller extends Actor<{ tick(): void }> {
  private readonly db: AsyncPort<Database>
  private readonly world: World
  constructor(db: AsyncPort<Database>, world: World) {
    super()
    this.db = db
    this.world = world
  }
  override async preStart(): Promise<void> {
    this.world.breaker = await spawnBreaker(this.context, {
      name: 'db',
      windowSize: 20,
      minimumCalls: 10,
      failureRateThreshold: 50,
      waitInOpenMs: 400,
      backoff: { factor: 1.5, maxMs: 1000, jitter: 0.25 },
      permittedCallsInHalfOpen: 2,
      maxWaitInHalfOpenMs: 2000,
    })
    this.context.timers.startPeriodic('tick', 10, 'tick')
  }
  tick(): void {
    const client = this.world.breaker!.client
    client.execute(() => this.db.query()).then(
      () => this.world.ok++,
      (error: { code?: string }) => (error.code === 'ERR_CALL_NOT_PERMITTED' ? this.world.rejected++ : this.world.failed++),
    )
  }
}

const LEGAL: Record<string, readonly string[]> = {
  closed: ['open'],
  open: ['half_open'],
  half_open: ['closed', 'open'],
}

async function scenario(sim: Simulation): Promise<void> {
  const world: World = { ok: 0, failed: 0, rejected: 0, breaker: null }
  const database = new Database()
  const process = sim.createProcess('app')
  const service = new SimulatedService(sim, database, { name: 'postgres', process, latency: { minMs: 1, maxMs: 4 } })
  const system = sim.createSystem({ name: 'app', process })
  const events: BreakerTransition[] = []
  system.subscribe(BreakerTransitionTopic, (t) => events.push(t))
  let callsWhileDown = 0
  let downSince = 0
  sim.at(1000, () => {
    database.down = true
    downSince = service.calls.length
  })
  sim.at(4000, () => {
    database.down = false
    callsWhileDown = service.calls.length - downSince
  })
  system.spawn(Caller, { name: 'caller', args: [service.client, world] })
  await sim.advanceTo(4000)
  const okBefore = world.ok
  await sim.advanceTo(6500)

  // Open during the outage, shedding most of the 300 calls the caller made.
  if (!events.some((e) => e.to === 'open')) throw new Error('the breaker never opened during the outage')
  if (callsWhileDown > 40) throw new Error(`${callsWhileDown} calls reached the down service: the breaker did not shed load`)
  if (world.rejected < 150) throw new Error(`only ${world.rejected} calls were refused during the outage`)
  // Legal transitions, one event each, epochs in steps of one.
  let state = 'closed'
  for (const [i, e] of events.entries()) {
    if (e.from !== state || !(LEGAL[state] ?? []).includes(e.to)) throw new Error(`illegal transition #${i}: ${e.from} → ${e.to} (was ${state})`)
    if (e.epoch !== i + 1) throw new Error(`transition #${i} has epoch ${e.epoch}`)
    state = e.to
  }
  // Serving again after the outage.
  if (state !== 'closed') throw new Error(`still ${state} 2.5 s after the outage ended (${events.length} transitions)`)
  if (world.ok - okBefore < 100) throw new Error(`only ${world.ok - okBefore} calls succeeded after the outage`)
  const snapshot = await sim.settle(world.breaker!.ref.ask('snapshot'))
  if (snapshot.halfOpenInFlight !== 0) throw new Error(`${snapshot.halfOpenInFlight} half-open permits still held`)
}

describe('a circuit breaker through a service outage', () => {
  it('opens, sheds load, recovers, on every seed', async () => {
    const ran = await forEachSeed({ seeds: seeds(20) }, scenario)
    expect(ran).toBeGreaterThan(0)
  })
})
