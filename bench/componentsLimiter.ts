/**
 * Rate-limiter figures for the `components` suite (issue 15): decisions/s of the local store and of
 * the Redis store, each next to a baseline measured in the same run. The Redis store's baseline is
 * a raw `INCR` on the same connection with the same number of calls in flight (ioredis pipelines
 * them on the socket), so the ratio is the price of the Lua script (TIME, read, decide, write,
 * PEXPIRE) over the cheapest possible Redis round trip. Target: Redis path ≥ 0.8× raw INCR, pipelined.
 *
 * Redis comes from the test service ladder: REDIS_URL, else a redis-server started for the run.
 */
import { Redis } from 'ioredis'
import { LeasedLimiter, LocalLimiter, RateLimiterActor, RedisLimiter, type RateLimiterProtocol } from '../actors/index.ts'
import { Actor, ActorSystem, SystemClock, type ActorRef } from '../runtime/index.ts'
import { provideRedis } from '../test/support/dataServices.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate } from './harness.ts'

const LOCAL_N = 1_000_000
const ACTOR_N = 100_000
const REDIS_N = 50_000
const RTT_N = 5_000
const KEYS = 1000
const IN_FLIGHT = 64
const ROUNDS = 4

export const limiterCases = ['limiter.local', 'limiter.local.actor', 'limiter.redis', 'limiter.redis.unbatched', 'limiter.redis.rtt', 'limiter.redis.leased', 'limiter.redis.leased.rtt'] as const

function keys(): string[] {
  return Array.from({ length: KEYS }, (_, i) => `user-${i}`)
}

function emit(name: string, unit: string, runs: { candidate: Rate[]; baseline: Rate[] }, extra: Record<string, unknown>): void {
  const wall = runs.candidate.map((r) => r.perSecond)
  const base = runs.baseline.map((r) => r.perSecond)
  report({
    case: name,
    value: round(median(wall)),
    unit,
    baseline: round(median(base)),
    ratio: round(pairedRatio(wall, base), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
    rounds: wall.map((v) => round(v, 3)),
    baselineRounds: base.map((v) => round(v, 3)),
    ...extra,
  })
}

/** In-process GCRA decisions vs the least a keyed counter can do (a Map increment). */
async function local(): Promise<void> {
  const names = keys()
  const limiter = new LocalLimiter({ algorithm: 'gcra', maxBurst: 99, countPerPeriod: 1000, periodMs: 1000 }, new SystemClock())
  const counts = new Map<string, number>()
  const candidate = async (): Promise<Rate> => {
    let allowed = 0
    const stop = startTiming()
    for (let i = 0; i < LOCAL_N; i++) if (limiter.decide(names[i % KEYS] as string, 1).allowed) allowed++
    const timing = stop()
    check(allowed > 0, 'the local limiter admitted nothing')
    return rate(LOCAL_N, timing)
  }
  const baseline = async (): Promise<Rate> => {
    const stop = startTiming()
    for (let i = 0; i < LOCAL_N; i++) {
      const key = names[i % KEYS] as string
      counts.set(key, (counts.get(key) ?? 0) + 1)
    }
    return rate(LOCAL_N, stop())
  }
  await candidate()
  await baseline()
  emit('limiter.local', 'decisions/s', await paired(ROUNDS, candidate, baseline), { n: LOCAL_N, keys: KEYS, baselineIs: 'Map increment per call' })
}

interface CounterProtocol {
  inc(key: string): number
}

class CounterActor extends Actor<CounterProtocol> implements CounterProtocol {
  private readonly counts = new Map<string, number>()
  inc(key: string): number {
    const next = (this.counts.get(key) ?? 0) + 1
    this.counts.set(key, next)
    return next
  }
}

/** Asks to a RateLimiterActor (local store) vs asks to an actor that only counts per key. */
async function localActor(): Promise<void> {
  const system = ActorSystem.create({ name: 'bench-limiter' })
  const names = keys()
  const limiter: ActorRef<RateLimiterProtocol> = system.spawn(RateLimiterActor, { args: [{ spec: { algorithm: 'gcra', maxBurst: 99, countPerPeriod: 1000, periodMs: 1000 } }] })
  const counter: ActorRef<CounterProtocol> = system.spawn(CounterActor)
  const drive = async (call: (key: string) => Promise<unknown>): Promise<Rate> => {
    let next = 0
    const stop = startTiming()
    await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
      while (next < ACTOR_N) await call(names[next++ % KEYS] as string)
    }))
    return rate(ACTOR_N, stop())
  }
  const candidate = (): Promise<Rate> => drive((key) => limiter.ask('decide', key))
  const baseline = (): Promise<Rate> => drive((key) => counter.ask('inc', key))
  await candidate()
  await baseline()
  emit('limiter.local.actor', 'decisions/s', await paired(ROUNDS, candidate, baseline), { n: ACTOR_N, inFlight: IN_FLIGHT, baselineIs: 'ask to an actor doing a Map increment' })
  await system.terminate()
}

/** `inFlight` loops, each awaiting its call before the next: that many commands pipelined on the socket. */
async function drive(n: number, inFlight: number, call: (i: number) => Promise<unknown>): Promise<Rate> {
  let next = 0
  const stop = startTiming()
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < n) await call(next++)
  }))
  return rate(n, stop())
}

async function redisCases(only: (name: string) => boolean): Promise<void> {
  const service = await provideRedis()
  note(`Redis from ${service.source}: ${service.url}`)
  const redis = new Redis(service.url)
  const prefix = `bench:${process.pid}:`
  const names = keys()
  try {
    const spec = { algorithm: 'gcra', maxBurst: 999, countPerPeriod: 1_000_000, periodMs: 1000 } as const
    const batched = new RedisLimiter(spec, { redis, clock: new SystemClock(), prefix: `${prefix}rl:` })
    const unbatched = new RedisLimiter(spec, { redis, clock: new SystemClock(), prefix: `${prefix}rlu:`, batch: false })
    let allowed = 0
    const candidate = (n: number, inFlight: number, limiter = batched) => () =>
      drive(n, inFlight, async (i) => {
        if ((await limiter.decide(names[i % KEYS] as string, 1)).allowed) allowed++
      })
    const baseline = (n: number, inFlight: number) => () => drive(n, inFlight, (i) => redis.incr(`${prefix}incr:${names[i % KEYS] as string}`))
    if (only('limiter.redis')) {
      await candidate(REDIS_N / 5, IN_FLIGHT)()
      await baseline(REDIS_N / 5, IN_FLIGHT)()
      emit('limiter.redis', 'decisions/s', await paired(ROUNDS, candidate(REDIS_N, IN_FLIGHT), baseline(REDIS_N, IN_FLIGHT)), { n: REDIS_N, inFlight: IN_FLIGHT, baselineIs: 'raw INCR, same connection, same calls in flight', target: 'ratio >= 0.8', mode: 'batched (default)' })
      check(allowed > 0, 'the Redis limiter admitted nothing')
    }
    if (only('limiter.redis.unbatched')) {
      await candidate(REDIS_N / 5, IN_FLIGHT, unbatched)()
      await baseline(REDIS_N / 5, IN_FLIGHT)()
      emit('limiter.redis.unbatched', 'decisions/s', await paired(ROUNDS, candidate(REDIS_N, IN_FLIGHT, unbatched), baseline(REDIS_N, IN_FLIGHT)), { n: REDIS_N, inFlight: IN_FLIGHT, baselineIs: 'raw INCR, same connection, same calls in flight', mode: 'one script call per decision' })
    }
    // Leasing: 64 tokens per script call, decisions served locally in between (see LeasedLimiter's bound).
    const leased = new LeasedLimiter(new RedisLimiter(spec, { redis, clock: new SystemClock(), prefix: `${prefix}rll:` }), spec, { leaseSize: 64, leaseMs: 1000, clock: new SystemClock() })
    const leasedCall = (n: number, inFlight: number) => () =>
      drive(n, inFlight, async (i) => {
        if ((await leased.decide(names[i % KEYS] as string, 1)).allowed) allowed++
      })
    if (only('limiter.redis.leased')) {
      await leasedCall(REDIS_N / 5, IN_FLIGHT)()
      await baseline(REDIS_N / 5, IN_FLIGHT)()
      emit('limiter.redis.leased', 'decisions/s', await paired(ROUNDS, leasedCall(REDIS_N, IN_FLIGHT), baseline(REDIS_N, IN_FLIGHT)), { n: REDIS_N, inFlight: IN_FLIGHT, baselineIs: 'raw INCR, same connection, same calls in flight', mode: 'leased, 64 tokens per script call', leases: leased.stats.leases, local: leased.stats.local })
    }
    if (only('limiter.redis.leased.rtt')) {
      await leasedCall(RTT_N / 5, 1)()
      await baseline(RTT_N / 5, 1)()
      emit('limiter.redis.leased.rtt', 'decisions/s', await paired(ROUNDS, leasedCall(RTT_N, 1), baseline(RTT_N, 1)), { n: RTT_N, inFlight: 1, baselineIs: 'raw INCR round trip, one in flight', mode: 'leased, 64 tokens per script call' })
    }
    if (only('limiter.redis.rtt')) {
      // One in flight: batches of one, so the same as unbatched.
      await candidate(RTT_N / 5, 1)()
      await baseline(RTT_N / 5, 1)()
      emit('limiter.redis.rtt', 'decisions/s', await paired(ROUNDS, candidate(RTT_N, 1), baseline(RTT_N, 1)), { n: RTT_N, inFlight: 1, baselineIs: 'raw INCR round trip, one in flight' })
    }
  } finally {
    const stale = await redis.keys(`${prefix}*`)
    for (let i = 0; i < stale.length; i += 500) await redis.del(...stale.slice(i, i + 500))
    redis.disconnect()
    await service.stop()
  }
}

/** Runs the limiter cases (all, or those `only` names); the lead wires this into `components`. */
export async function limiterBench(only: ReadonlySet<string> | null = null): Promise<void> {
  const wanted = (name: string): boolean => only === null || only.has(name)
  if (wanted('limiter.local')) await local()
  if (wanted('limiter.local.actor')) await localActor()
  if (limiterCases.some((c) => c.startsWith('limiter.redis') && wanted(c))) await redisCases(wanted)
}
