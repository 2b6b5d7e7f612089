/**
 * Suite `cache` (`npm run bench -- cache`): the two-tier cache, each figure next to a baseline
 * measured in the same run.
 *
 * - `view-hit`: L1 hits through the synchronous view vs `Map.get` on the same keys (target ≥ 0.3×).
 * - `cross-shard-ask`: L1 hits by `ask` from another shard vs a plain cross-shard ask to an echo
 *   actor, sequential asks from shard 1 to shard 2, the two kinds alternating one by one after two
 *   uncounted warm-up rounds (target ≥ 0.9× the rate).
 * - `l2-hit`: a get answered by Redis (L1 disabled: one GET of the value, whose header carries version
 *   and expiry, decode, through the actor; L2 on a RedisClient's fast path) vs a raw `GET` of the same
 *   bytes on an ioredis connection (target ≤ 1.2× latency). `l2-hit.tier`/`.ioredis`: the store alone.
 * - `stampede`: concurrent misses of one key per load (1,000 on one shard; 3 × 1,000 on three nodes
 *   sharing Redis with the distributed lock) vs one load per caller without the cache.
 *
 * This module is also the shard app of the cross-shard case (workers load its default export).
 * Redis comes from the test service ladder: REDIS_URL, else a redis-server started for the run.
 */
import { Redis } from 'ioredis'
import { Cache, CacheView, decodePayload, MemoryCacheL2, RedisCacheL2, RedisClient, RedisFastPath, type CacheProtocol } from '../actors/index.ts'
import { Actor, ActorSystem, SystemClock, type ActorRef } from '../runtime/index.ts'
import { defineShardApp, ShardedSystem } from '../transport/index.ts'
import { check, median, note, paired, pairedRatio, percentile, rate, report, round, startTiming, type Rate, type Suite } from './harness.ts'

const ROUNDS = 5
/** Paired rounds run and discarded before a rate case's counted ones. */
const WARMUP_ROUNDS = 2
const VIEW_N = 2_000_000
const ASK_N = 3_000
const L2_N = 4_000
const KEYS = 1024
const PAYLOAD = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'dev'], score: 21.5 }

// ------------------------------------------------------------------ shard app

/** An L1-only cache with a fixed config, spawnable by name on any shard. */
export class BenchCache extends Cache {
  constructor() {
    super({ name: 'bench', l2: null, breaker: false, jitter: 0, ttlMs: 3_600_000 })
  }
}

export interface EchoProtocol {
  get(key: string): typeof PAYLOAD
}
/** The baseline's target: answers like a cache hit would, with no cache behind it. */
export class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  get(key: string): typeof PAYLOAD {
    if (key.length === 0) throw new Error('no key')
    return PAYLOAD
  }
}

export interface AskerProtocol {
  /**
   * `count` sequential asks of `get('hot')` to each of `a` and `b`, alternating (a, b, then b, a), each
   * timed on its own; returns each target's asks per second of its own asks' time.
   */
  measure(a: ActorRef<EchoProtocol>, b: ActorRef<EchoProtocol>, count: number): Promise<[number, number]>
}
export class Asker extends Actor<AskerProtocol> implements AskerProtocol {
  async measure(a: ActorRef<EchoProtocol>, b: ActorRef<EchoProtocol>, count: number): Promise<[number, number]> {
    let msA = 0
    let msB = 0
    for (let i = 0; i < count; i++) {
      const aFirst = (i & 1) === 0
      const t0 = performance.now()
      const first = await (aFirst ? a : b).ask('get', 'hot')
      const t1 = performance.now()
      const second = await (aFirst ? b : a).ask('get', 'hot')
      const t2 = performance.now()
      if (first.id !== 42 || second.id !== 42) throw new Error('wrong answer')
      msA += aFirst ? t1 - t0 : t2 - t1
      msB += aFirst ? t2 - t1 : t1 - t0
    }
    return [count / (msA / 1000), count / (msB / 1000)]
  }
}

export default defineShardApp({ name: 'bench-cache', actors: { BenchCache, Echo, Asker } })

// ------------------------------------------------------------------ cases

function emitRate(name: string, runs: { candidate: Rate[]; baseline: Rate[] }, extra: Record<string, unknown>): void {
  const wall = runs.candidate.map((r) => r.perSecond)
  const base = runs.baseline.map((r) => r.perSecond)
  report({ case: name, value: round(median(wall)), unit: 'ops/s', baseline: round(median(base)), ratio: round(pairedRatio(wall, base), 3), rounds: wall.map((v) => round(v, 3)), baselineRounds: base.map((v) => round(v, 3)), ...extra })
}

async function viewHit(): Promise<void> {
  const system = ActorSystem.create({ name: 'bench-view', clock: new SystemClock() })
  const cache: ActorRef<CacheProtocol<unknown>> = system.spawn(Cache, { args: [{ name: 'bench', breaker: false, ttlMs: 3_600_000 }] })
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
  const map = new Map<string, unknown>()
  for (const k of keys) {
    await cache.ask('set', k, { ...PAYLOAD, k })
    map.set(k, { ...PAYLOAD, k })
  }
  const view = CacheView.of<typeof PAYLOAD>(system, 'bench')
  const loop = (get: (k: string) => unknown): Rate => {
    let found = 0
    const stop = startTiming()
    for (let i = 0; i < VIEW_N; i++) if (get(keys[i & (KEYS - 1)] as string) !== undefined) found++
    const timing = stop()
    check(found === VIEW_N, `${VIEW_N - found} misses`)
    return rate(VIEW_N, timing)
  }
  const runs = await paired(
    ROUNDS,
    async () => loop((k) => view.get(k)),
    async () => loop((k) => map.get(k)),
  )
  emitRate('view-hit', runs, { target: '>= 0.3', note: 'CacheView.get (TTL check + LRU touch) vs Map.get, 1024 keys' })
  await system.terminate()
}

async function crossShardAsk(): Promise<void> {
  const sharded = await ShardedSystem.create({ name: 'bench-cache', shards: 2, app: new URL(import.meta.url), askTimeoutMs: 60_000 })
  try {
    const cache = (await sharded.spawn(BenchCache, { shard: 2 })) as unknown as ActorRef<CacheProtocol<unknown>>
    const echo = await sharded.spawn(Echo, { shard: 2 })
    const asker = await sharded.spawn(Asker, { shard: 1 })
    await cache.ask('set', 'hot', PAYLOAD)
    const target = cache as unknown as ActorRef<EchoProtocol>
    // The two kinds of ask alternate one by one, each timed on its own, so both meet the same load: on these shared
    // cores the rate of whole rounds moved 2–10× within seconds (other engineers' builds), and rounds of one kind at a
    // time gave per-round ratios from 0.2× to 1.7×.
    // Warm-up rounds of the full size, not counted: the rate climbs through the first rounds (JIT tiers on three threads;
    // timed one kind at a time, the first round ran at 10–30 % of the steady rate and, after 500 asks of warm-up, alone
    // moved the median ratio from ~1.0× to 0.76–0.86×).
    for (let i = 0; i < WARMUP_ROUNDS; i++) await asker.ask('measure', target, echo, ASK_N)
    const runs: { candidate: Rate[]; baseline: Rate[] } = { candidate: [], baseline: [] }
    for (let i = 0; i < ROUNDS; i++) {
      const [cacheRate, echoRate] = await asker.ask('measure', target, echo, ASK_N)
      runs.candidate.push({ perSecond: cacheRate, perCpuSecond: 0 })
      runs.baseline.push({ perSecond: echoRate, perCpuSecond: 0 })
    }
    emitRate('cross-shard-ask', runs, { target: '>= 0.9', note: 'sequential asks shard 1 → 2, alternating one by one: Cache.get hit vs an echo actor' })
  } finally {
    await sharded.terminate()
  }
}

async function withRedis<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const { provideRedis } = await import('../test/support/dataServices.ts')
  const service = await provideRedis()
  try {
    return await fn(service.url)
  } finally {
    await service.stop()
  }
}

async function l2Hit(url: string): Promise<void> {
  const redis = new Redis(url)
  const system = ActorSystem.create({ name: 'bench-l2', clock: new SystemClock() })
  // The production wiring: the cache's L2 on a RedisClient actor, through its same-shard fast path (breaker, health, no message per call).
  await system.spawnAndWait(RedisClient, { args: [{ name: 'redis', url }] })
  const prefix = `troupe-bench:cache-${process.pid}:`
  const l2 = new RedisCacheL2({ client: RedisFastPath.of(system, 'redis'), prefix, clock: system.clock })
  const own = new RedisCacheL2({ redis, prefix, clock: system.clock })
  const cache: ActorRef<CacheProtocol<unknown>> = system.spawn(Cache, { args: [{ name: 'bench', l2, maxEntries: 0, breaker: false, ttlMs: 3_600_000 }] })
  const keys = Array.from({ length: 64 }, (_, i) => `user:${i}`)
  for (const k of keys) await cache.ask('set', k, PAYLOAD)
  const raw = await redis.getBuffer(`${prefix}v:${keys[0]}`)
  check(raw !== null, 'no value in Redis')
  for (const k of keys) await redis.set(`${prefix}raw:${k}`, raw)
  const sample = async (get: (k: string) => Promise<unknown>): Promise<number[]> => {
    const out: number[] = []
    for (let i = 0; i < L2_N; i++) {
      const started = performance.now()
      const value = await get(keys[i & 63] as string)
      out.push((performance.now() - started) * 1000)
      if (value === null || value === undefined) throw new Error('benchmark self-check failed: a miss')
    }
    return out.sort((a, b) => a - b)
  }
  const rawGet = (k: string): Promise<unknown> => redis.getBuffer(`${prefix}raw:${k}`)
  const emit = (name: string, runs: { candidate: number[][]; baseline: number[][] }, note: string): void => {
    const p50 = runs.candidate.map((s) => percentile(s, 50))
    const base50 = runs.baseline.map((s) => percentile(s, 50))
    report({
      case: name,
      value: round(median(p50)),
      unit: 'µs p50',
      baseline: round(median(base50)),
      ratio: round(pairedRatio(p50, base50), 3),
      p99: round(median(runs.candidate.map((s) => percentile(s, 99)))),
      baselineP99: round(median(runs.baseline.map((s) => percentile(s, 99)))),
      target: name === 'l2-hit' || name === 'l2-hit.view' ? '<= 1.2' : '(diagnostic)',
      note,
    })
  }
  await sample((k) => cache.ask('get', k))
  await sample(rawGet)
  emit('l2-hit', await paired(ROUNDS, () => sample((k) => cache.ask('get', k)), () => sample(rawGet)), 'Cache.get by ask, L1 off, L2 on a RedisClient (fast path): one GET, header decode, msgpack decode vs raw GET of the same bytes on an ioredis connection')
  const stats = await cache.ask('stats')
  check(stats.l2Hits >= L2_N * ROUNDS, `only ${stats.l2Hits} L2 hits`)
  // Same-shard callers: the view reads L2 through the actor's own `get`, no message per read.
  const view = CacheView.of(system, 'bench')
  emit('l2-hit.view', await paired(ROUNDS, () => sample(async (k) => view.read(k)), () => sample(rawGet)), 'CacheView.read, L1 off: the same path without the ask (same-shard callers) vs raw GET')
  // The L2 tier alone (the store's read and the payload decode, no actor hop), over the client's fast path and over an own ioredis connection.
  const tier = (store: RedisCacheL2) => (k: string) => store.read(k).then((r) => decodePayload(r.record?.payload ?? new Uint8Array(0), 'bench').value)
  emit('l2-hit.tier', await paired(ROUNDS, () => sample(tier(l2)), () => sample(rawGet)), 'RedisCacheL2.read + decode over the RedisClient fast path, no ask, vs raw GET')
  emit('l2-hit.ioredis', await paired(ROUNDS, () => sample(tier(own)), () => sample(rawGet)), 'RedisCacheL2.read + decode over its own ioredis connection, no ask, vs raw GET')
  const leftovers = await redis.keys(`${prefix}*`)
  if (leftovers.length > 0) await redis.del(...leftovers)
  await system.terminate()
  redis.disconnect()
}

async function stampede(url: string): Promise<void> {
  const CALLERS = 1_000
  const loaderMs = 20
  let loads = 0
  const loader = (key: string): Promise<string> => {
    loads++
    return new Promise((resolve) => setTimeout(() => resolve(`value:${key}`), loaderMs))
  }
  // One shard, L2 twin: every miss of a round shares one load.
  const system = ActorSystem.create({ name: 'bench-stampede', clock: new SystemClock() })
  const cache: ActorRef<CacheProtocol<unknown>> = system.spawn(Cache, { args: [{ name: 'bench', l2: new MemoryCacheL2(system.clock), breaker: false }] })
  const factors: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    loads = 0
    await Promise.all(Array.from({ length: CALLERS }, () => cache.ask('getOrLoad', `key-${round}`, loader)))
    factors.push(CALLERS / loads)
  }
  await system.terminate()
  report({ case: 'stampede', value: round(median(factors)), unit: 'callers per load', baseline: 1, ratio: round(median(factors)), callers: CALLERS, target: 'as high as possible', note: 'no cache: one load per caller' })

  // Three nodes sharing Redis, with the distributed lock: one load cluster-wide per key.
  const prefix = `troupe-bench:stampede-${process.pid}:`
  const nodes = await Promise.all(
    [1, 2, 3].map(async (n) => {
      const redis = new Redis(url)
      const sys = ActorSystem.create({ name: `bench-node-${n}`, clock: new SystemClock() })
      const ref: ActorRef<CacheProtocol<unknown>> = sys.spawn(Cache, { args: [{ name: 'bench', l2: new RedisCacheL2({ redis, prefix, clock: sys.clock }), lock: { waitMs: 2_000, pollMs: 5 }, breaker: false }] })
      await ref.ask('stats')
      return { redis, sys, ref }
    }),
  )
  const clusterFactors: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    loads = 0
    await Promise.all(nodes.flatMap((n) => Array.from({ length: CALLERS }, () => n.ref.ask('getOrLoad', `key-${round}`, loader))))
    clusterFactors.push((3 * CALLERS) / loads)
  }
  report({ case: 'stampede.cluster', value: round(median(clusterFactors)), unit: 'callers per load', baseline: 1, ratio: round(median(clusterFactors)), callers: 3 * CALLERS, nodes: 3, target: 'as high as possible', note: 'three systems, shared Redis, lock (SET NX PX + fencing token)' })
  const leftovers = await nodes[0]!.redis.keys(`${prefix}*`)
  if (leftovers.length > 0) await nodes[0]!.redis.del(...leftovers)
  for (const n of nodes) {
    await n.sys.terminate()
    n.redis.disconnect()
  }
}

export const suite: Suite = {
  description: 'two-tier cache: sync-view hits vs Map.get, cross-shard hits vs a plain ask, L2 hits vs raw GET, stampede reduction (needs Redis: REDIS_URL or redis-server)',
  cases: ['view-hit', 'cross-shard-ask', 'l2-hit', 'stampede'],
  run: async ({ only }) => {
    const want = (c: string): boolean => only === null || only.has(c)
    if (want('view-hit')) await viewHit()
    if (want('cross-shard-ask')) await crossShardAsk()
    if (want('l2-hit') || want('stampede')) {
      await withRedis(async (url) => {
        if (want('l2-hit')) await l2Hit(url)
        if (want('stampede')) await stampede(url)
      })
    }
    note('cache suite done')
  },
}
