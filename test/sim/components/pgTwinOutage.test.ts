/**
 * PgPool on its PostgreSQL twin (MemoryPostgres behind a SimulatedService: 1–3 ms each way, 2 % of
 * calls stalled 30 ms) through a crash, over 200 seeds. An app queries every 20 ms and sends bursts
 * of slow statements (pg_sleep) that exhaust the pool of 4; the server is down from 0.6 s to 1.6 s.
 * Checked after every simulation event: the pool's books balance (idle ≤ total ≤ max, nobody waits
 * while a connection idles), callers got only typed errors from the expected set, health moved only
 * along starting → healthy → unhealthy → healthy, readiness says what health says, and the breaker
 * never opened before the crash and moved only along legal transitions. At the end of each seed:
 * health flipped exactly once each way, the breaker opened and closed again, calls were refused
 * fast while it was open, callers waited for a connection at least once and the pool served again
 * after the crash. Same seed → same trace.
 */
import { describe, expect, it } from 'vitest'
import {
  BreakerTransitionTopic,
  ClientHealthTopic,
  clientReadiness,
  memoryPgPort,
  MemoryPostgres,
  PgPool,
  type BreakerTransition,
  type ClientReadiness,
  type HealthTransition,
  type PgPoolProtocol,
  type PgPort,
} from '../../../actors/index.ts'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import { forEachSeed, Simulation, SimulatedService } from '../../../testing/index.ts'
import { seeds } from '../support/seeds.ts'

const MAX = 4
const DOWN_AT = 600
const UP_AT = 1600
const END = 3000
const ALLOWED = new Set(['ERR_PG_CONNECTION', 'ERR_PG_TIMEOUT', 'ERR_CALL_NOT_PERMITTED'])
const HEALTH_PATH = ['starting->healthy', 'healthy->unhealthy', 'unhealthy->healthy']
const LEGAL: Record<string, readonly string[]> = { closed: ['open'], open: ['half_open'], half_open: ['closed', 'open'] }

interface World {
  ok: { at: number }[]
  errors: { at: number; code: string }[]
  untyped: unknown[]
  maxWaiting: number
}

class App extends Actor<{ tick(): void }> {
  private readonly db: ActorRef<PgPoolProtocol>
  private readonly world: World
  private n = 0
  constructor(db: ActorRef<PgPoolProtocol>, world: World) {
    super()
    this.db = db
    this.world = world
  }
  override preStart(): void {
    this.context.timers.startPeriodic('tick', 20, 'tick')
  }
  tick(): void {
    const n = this.n++
    this.call(this.db.ask('query', 'select $1::int as i', [n]), (rows) => (rows[0] as { i?: number } | undefined)?.i === n)
    // Every 400 ms, six slow statements at once: two of them wait for a connection of the four.
    if (n % 20 === 5) for (let i = 0; i < 6; i++) this.call(this.db.ask('query', 'select pg_sleep($1)', [0.03]), () => true)
  }
  private call(answer: Promise<{ rows: unknown[] }>, right: (rows: unknown[]) => boolean): void {
    const at = this.context.system.clock.now()
    answer.then(
      (result) => (right(result.rows) ? this.world.ok.push({ at }) : this.world.untyped.push(new Error(`wrong rows ${JSON.stringify(result.rows)}`))),
      (error: { code?: unknown }) => (typeof error?.code === 'string' ? this.world.errors.push({ at, code: error.code }) : this.world.untyped.push(error)),
    )
  }
}

async function scenario(sim: Simulation): Promise<void> {
  const process = sim.createProcess('app')
  const server = new MemoryPostgres({ maxConnections: 20 })
  const service = new SimulatedService(sim, server, { name: 'postgres', process, latency: { minMs: 1, maxMs: 3 }, timeoutMs: 500, faults: { stallRate: 0.02, stallMs: 30 } })
  const twin = memoryPgPort(server, { via: service.client })
  let port: PgPort | null = null
  const system = sim.createSystem({ name: 'app', process })
  const health: HealthTransition[] = []
  const breaker: BreakerTransition[] = []
  system.subscribe(ClientHealthTopic, (t) => health.push(t))
  system.subscribe(BreakerTransitionTopic, (t) => breaker.push(t))
  const db = system.spawn(PgPool, {
    name: 'db',
    args: [
      {
        name: 'db',
        port: (settings) => (port = twin(settings)),
        pool: { max: MAX },
        checkoutTimeoutMs: 200,
        queryTimeoutMs: 100,
        health: { intervalMs: 50, maxIntervalMs: 200, timeoutMs: 100, unhealthyAfter: 2, healthyAfter: 2 },
        breaker: { windowSize: 10, minimumCalls: 5, waitInOpenMs: 200, backoff: { factor: 2, maxMs: 800, jitter: 0.2 } },
      },
    ],
  })
  const world: World = { ok: [], errors: [], untyped: [], maxWaiting: 0 }
  let readiness: ClientReadiness | null = null

  sim.invariant('pool books balance', () => {
    if (port === null) return true
    const { totalCount: total, idleCount: idle, waitingCount: waiting } = port
    world.maxWaiting = Math.max(world.maxWaiting, waiting)
    if (!(idle >= 0 && idle <= total && total <= MAX)) return `pool: idle ${idle}, total ${total}, max ${MAX}`
    return waiting === 0 || idle === 0 || `${waiting} callers wait while ${idle} connections idle`
  })
  sim.invariant('callers get typed errors only, from the expected set', () => {
    if (world.untyped.length > 0) return `untyped: ${String(world.untyped[0])}`
    const odd = world.errors.find((e) => !ALLOWED.has(e.code) || e.at < DOWN_AT - 200)
    return odd === undefined || `unexpected ${odd.code} at ${odd.at}`
  })
  sim.invariant('health moves along starting → healthy → unhealthy → healthy; readiness follows', () => {
    for (let i = 0; i < health.length; i++) if (`${health[i]?.from}->${health[i]?.to}` !== HEALTH_PATH[i]) return `health: ${health.map((t) => `${t.from}->${t.to}`).join(' ')}`
    if (readiness === null) return true
    const status = health.at(-1)?.to ?? 'starting'
    return readiness.status === status && readiness.ready().ok === (status === 'healthy') ? true : `readiness ${readiness.status} while health is ${status}`
  })
  sim.invariant('the breaker moves legally and not before the crash', () => {
    for (let i = 0; i < breaker.length; i++) {
      const t = breaker[i] as BreakerTransition
      if (t.at < DOWN_AT) return `breaker ${t.from}->${t.to} at ${t.at}, before the crash`
      if (!(LEGAL[t.from] ?? []).includes(t.to) || (i > 0 && breaker[i - 1]?.to !== t.from)) return `illegal breaker transition ${t.from}->${t.to}`
    }
    return true
  })

  readiness = await sim.settle(clientReadiness(system, db))
  sim.at(DOWN_AT, () => server.down())
  sim.at(UP_AT, () => server.up())
  system.spawn(App, { name: 'app', args: [db, world] })
  await sim.advanceTo(END)

  const flips = health.map((t) => `${t.from}->${t.to}`).join(' ')
  if (flips !== HEALTH_PATH.join(' ')) throw new Error(`health transitions: ${flips}`)
  const [, down, up] = health as [HealthTransition, HealthTransition, HealthTransition]
  if (!(down.at > DOWN_AT && down.at < DOWN_AT + 500 && up.at > UP_AT && up.at < UP_AT + 800)) throw new Error(`health flipped at ${down.at} and ${up.at}`)
  if (!breaker.some((t) => t.to === 'open')) throw new Error('the breaker never opened')
  if (breaker.at(-1)?.to !== 'closed') throw new Error(`the breaker ended ${breaker.at(-1)?.to}`)
  if (!world.errors.some((e) => e.code === 'ERR_CALL_NOT_PERMITTED')) throw new Error('no call was refused fast by the open breaker')
  if (world.maxWaiting === 0) throw new Error('no caller ever waited for a connection: the pool was never exhausted')
  if (!world.ok.some((c) => c.at >= END - 500)) throw new Error('no call succeeded after the recovery')
  const before = world.ok.filter((c) => c.at < DOWN_AT).length
  if (before < 25) throw new Error(`only ${before} calls succeeded before the crash`)
  readiness.close()
}

describe('PgPool on the PostgreSQL twin through a crash', () => {
  it('flips health once each way, opens and closes its breaker, answers typed errors only, on every seed', async () => {
    const ran = await forEachSeed({ seeds: seeds(Number(process.env['TROUPE_SIM_PG_SEEDS'] ?? 200)) }, scenario)
    expect(ran).toBeGreaterThanOrEqual(200)
  }, 600_000)

  it('is deterministic: the same seed gives the same trace', async () => {
    const runs: string[] = []
    for (let i = 0; i < 2; i++) {
      const sim = new Simulation({ seed: 11 })
      await scenario(sim)
      runs.push(`${sim.traceHash}/${sim.steps}`)
    }
    expect(runs[1]).toBe(runs[0])
  })
})
