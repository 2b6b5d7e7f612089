/**
 * Service-client figures for the `components` suite (issue 15): what a call through the PgPool and
 * RedisClient actors costs over the raw driver, in the same run, ABBA rounds.
 *
 * - `clients.pg`: one `select $1::int` at a time through `PgPool.query` (an ask to the actor, the
 *   breaker's fast path, a pool checkout, the query, the release) vs `pg.Pool.query` on a pool of
 *   the same size against the same server: latency per call.
 * - `clients.pg.concurrent`: the same with 16 calls in flight: queries/s.
 * - `clients.redis`: one `GET` at a time through `RedisClient.command` vs `ioredis.get` on its own
 *   connection: latency per call.
 * - `clients.redis.concurrent`: 64 in flight (ioredis pipelines them on the socket): commands/s.
 *
 * Servers come from the test service ladder (DATABASE_URL / REDIS_URL, else local binaries).
 */
import { Redis } from 'ioredis'
import pg from 'pg'
import { PgPool, RedisClient, type PgPoolProtocol, type RedisClientProtocol } from '../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../runtime/index.ts'
import { providePostgres, provideRedis } from '../test/support/dataServices.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate, type Timing } from './harness.ts'

export const clientsCases = ['clients.pg', 'clients.pg.concurrent', 'clients.redis', 'clients.redis.concurrent'] as const
const ROUNDS = 4
const POOL_MAX = 8

async function sequential(n: number, call: (i: number) => Promise<unknown>): Promise<Timing> {
  const stop = startTiming()
  for (let i = 0; i < n; i++) await call(i)
  return stop()
}

async function concurrent(n: number, inFlight: number, call: (i: number) => Promise<unknown>): Promise<Rate> {
  let next = 0
  const stop = startTiming()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < n) await call(next++)
    }),
  )
  return rate(n, stop())
}

async function latencyCase(name: string, n: number, actor: (i: number) => Promise<unknown>, raw: (i: number) => Promise<unknown>, baselineIs: string): Promise<void> {
  note(name)
  await sequential(n / 4, actor)
  await sequential(n / 4, raw)
  const runs = await paired(ROUNDS, () => sequential(n, actor), () => sequential(n, raw))
  const us = (t: Timing): number => (t.wallMs * 1000) / n
  const cpuUs = (t: Timing): number => (t.cpuMs * 1000) / n
  const a = runs.candidate.map(us)
  const b = runs.baseline.map(us)
  report({
    case: name,
    value: round(median(a), 3),
    unit: 'µs per call, awaited one at a time',
    baseline: round(median(b), 3),
    ratio: round(pairedRatio(a, b), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map(cpuUs), runs.baseline.map(cpuUs)), 3),
    addedUs: round(median(a.map((v, i) => v - (b[i] as number))), 3),
    n,
    baselineIs,
    rounds: a.map((v) => round(v, 3)),
    baselineRounds: b.map((v) => round(v, 3)),
  })
}

async function throughputCase(name: string, n: number, inFlight: number, actor: (i: number) => Promise<unknown>, raw: (i: number) => Promise<unknown>, baselineIs: string): Promise<void> {
  note(name)
  await concurrent(n / 4, inFlight, actor)
  await concurrent(n / 4, inFlight, raw)
  const runs = await paired(ROUNDS, () => concurrent(n, inFlight, actor), () => concurrent(n, inFlight, raw))
  const a = runs.candidate.map((r) => r.perSecond)
  const b = runs.baseline.map((r) => r.perSecond)
  report({
    case: name,
    value: round(median(a)),
    unit: `calls/s, ${inFlight} in flight`,
    baseline: round(median(b)),
    ratio: round(pairedRatio(a, b), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
    n,
    baselineIs,
    rounds: a.map((v) => round(v, 3)),
    baselineRounds: b.map((v) => round(v, 3)),
  })
}

async function pgCases(only: (name: string) => boolean): Promise<void> {
  const service = await providePostgres()
  const system = ActorSystem.create({ name: 'bench-pg', clock: new SystemClock(), keepAlive: false })
  const raw = new pg.Pool({ connectionString: service.url, max: POOL_MAX })
  try {
    const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, { name: 'db', args: [{ name: 'bench', connectionString: service.url, pool: { max: POOL_MAX } }] })
    const viaActor = (i: number): Promise<unknown> => db.ask('query', 'select $1::int as i', [i])
    const viaRaw = (i: number): Promise<unknown> => raw.query('select $1::int as i', [i])
    const probe = (await db.ask('query', 'select $1::int as i', [7])).rows[0] as { i: number }
    check(probe.i === 7, 'PgPool answered the wrong row')
    if (only('clients.pg')) await latencyCase('components.clients.pg', 4000, viaActor, viaRaw, `pg.Pool.query (max ${POOL_MAX}) on the same server`)
    if (only('clients.pg.concurrent')) await throughputCase('components.clients.pg.concurrent', 20_000, 16, viaActor, viaRaw, `pg.Pool.query (max ${POOL_MAX}), same concurrency`)
    const stats = await db.ask('stats')
    check(stats.inFlight === 0, 'calls left in flight')
    check((await db.ask('health')).status === 'healthy', 'the pool went unhealthy during the run')
  } finally {
    await raw.end()
    await system.terminate()
    await service.stop()
  }
}

async function redisCases(only: (name: string) => boolean): Promise<void> {
  const service = await provideRedis()
  const system = ActorSystem.create({ name: 'bench-redis', clock: new SystemClock(), keepAlive: false })
  const raw = new Redis(service.url)
  try {
    const cache: ActorRef<RedisClientProtocol> = await system.spawnAndWait(RedisClient, { name: 'cache', args: [{ name: 'bench', url: service.url }] })
    await raw.set('troupe-bench:clients', 'v')
    check((await cache.ask('command', 'GET', 'troupe-bench:clients')) === 'v', 'RedisClient answered the wrong value')
    const viaActor = (): Promise<unknown> => cache.ask('command', 'GET', 'troupe-bench:clients')
    const viaRaw = (): Promise<unknown> => raw.get('troupe-bench:clients')
    if (only('clients.redis')) await latencyCase('components.clients.redis', 10_000, viaActor, viaRaw, 'ioredis get on its own connection')
    if (only('clients.redis.concurrent')) await throughputCase('components.clients.redis.concurrent', 100_000, 64, viaActor, viaRaw, 'ioredis get, same concurrency (auto-pipelined on the socket)')
    await raw.del('troupe-bench:clients')
  } finally {
    raw.disconnect()
    await system.terminate()
    await service.stop()
  }
}

/** The clients' section of the components suite; `only` holds case names without the suite prefix (null: all). */
export async function clientsBench(only: ReadonlySet<string> | null = null): Promise<void> {
  const wanted = (name: string): boolean => only === null || only.has(name)
  if (wanted('clients.pg') || wanted('clients.pg.concurrent')) await pgCases(wanted)
  if (wanted('clients.redis') || wanted('clients.redis.concurrent')) await redisCases(wanted)
}
