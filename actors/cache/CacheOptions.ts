import type { Registry } from 'prom-client'
import type { BreakerOptions } from '../breaker/BreakerOptions.ts'
import { CacheInvalidConfigError } from '../errors.ts'
import type { CacheL2Store } from './CacheL2Store.ts'
import type { InvalidationBus } from './InvalidationBus.ts'
import type { CacheMetrics } from './CacheMetrics.ts'

/** Loads the value of a key from the source of truth; `undefined` means "no such value" (cached negatively). */
export type Loader<V> = (key: string) => Promise<V | undefined> | V | undefined

export interface LockOptions {
  /** How long the lock lives if its holder dies. Default 10 000. */
  readonly ttlMs?: number
  /** How long a node waits for another node's load before loading itself. Default 2 000. */
  readonly waitMs?: number
  /** How often a waiting node checks L2 for the holder's value. Default 50. */
  readonly pollMs?: number
}

export interface BloomOptions {
  readonly expectedKeys?: number
  readonly falsePositiveRate?: number
  /** Rebuild from L2's keys this often (a Bloom filter cannot forget deleted keys). Default 60 000. */
  readonly rebuildIntervalMs?: number
}

export interface CacheOptions<V = unknown> {
  /** The cache's name: metrics label, L2 key prefix part, bus subject token (`[A-Za-z0-9_-]+`). */
  readonly name: string
  /** This node's id on the invalidation bus. Default: system name + node + shard + a random suffix. */
  readonly origin?: string
  /** L1 bounds. Defaults 10 000 entries, 64 MiB. */
  readonly maxEntries?: number
  readonly maxBytes?: number
  /** Estimated bytes of a value (default: a bounded walk of the value). */
  readonly sizeOf?: (value: V) => number
  /** W-TinyLFU admission (Caffeine) instead of plain LRU. Default false. */
  readonly tinyLfu?: boolean
  /** Fresh lifetime of a value (ms). Default 60 000. */
  readonly ttlMs?: number
  /** TTLs are cut by up to this fraction at random (injected Random), so keys written together do not expire together. Default 0.1. */
  readonly jitter?: number
  /** L1 never keeps a value fresh longer than this (still never longer than L2 would). Default: ttlMs. */
  readonly l1MaxTtlMs?: number
  /** Fresh lifetime of a cached "not found". 0 disables negative caching. Default 5 000. */
  readonly negativeTtlMs?: number
  /** Fail-safe: an expired value stays servable this long when the loader or L2 fails. 0 disables. Default 0. */
  readonly maxStaleMs?: number
  /** After a fail-safe serve, the stale value counts as fresh this long (no hammering a failing source). Default 1 000. */
  readonly failSafeThrottleMs?: number
  /** Serve a stale value at once and refresh it in the background. Needs maxStaleMs > 0. Default false. */
  readonly staleWhileRevalidate?: boolean
  /** With a stale value at hand, a load slower than this answers stale and completes in the background. 0: off. */
  readonly softTimeoutMs?: number
  /** A load slower than this fails (or answers stale); it still completes in the background and fills. 0: off. */
  readonly hardTimeoutMs?: number
  /** The loader used when `getOrLoad` gives none (the only way for callers on another shard or node). */
  readonly loader?: Loader<V>
  /** Shared L2; null for an L1-only cache. */
  readonly l2?: CacheL2Store | null
  /** Cluster invalidation; null for a single node. */
  readonly bus?: InvalidationBus | null
  /** How often the generation is checked against L2 (the staleness window's main term). Default 1 000. */
  readonly syncIntervalMs?: number
  /** How long a generation gap may last before it counts as a lost invalidation (messages in flight). Default 500. */
  readonly syncGraceMs?: number
  /** What a write does while L2 fails: queue it (bounded, retried) or drop it (counted). Default `queue`. */
  readonly l2WritePolicy?: 'queue' | 'drop'
  readonly writeQueueMax?: number
  /** Retry of queued writes while L2 is down. Default 500. */
  readonly retryIntervalMs?: number
  /** Distributed load lock (SET NX PX + fencing token) for every load; per call with `getOrLoad(…, { lock: true })`. */
  readonly lock?: LockOptions | boolean
  readonly bloom?: BloomOptions | null
  /** A circuit breaker around the loader (not around the cache): false disables. Default: failure rate 50% over 20 calls, 5 s open. */
  readonly breaker?: Omit<BreakerOptions, 'name'> | false
  readonly metrics?: CacheMetrics
  /** Convenience: metrics on this registry (CacheMetrics.of). */
  readonly registry?: Registry
}

export type ResolvedCacheOptions<V> = Required<Omit<CacheOptions<V>, 'origin' | 'sizeOf' | 'loader' | 'lock' | 'bloom' | 'breaker' | 'metrics' | 'registry'>> & {
  readonly origin: string | null
  readonly sizeOf: ((value: V) => number) | null
  readonly loader: Loader<V> | null
  /** Lock settings (defaults when none given); `lockByDefault` says whether every load takes it. */
  readonly lock: Required<LockOptions>
  readonly lockByDefault: boolean
  readonly bloom: Required<BloomOptions> | null
  readonly breaker: Omit<BreakerOptions, 'name'> | null
}

const NAME = /^[A-Za-z0-9_-]{1,128}$/

export function resolveCacheOptions<V>(options: CacheOptions<V>): ResolvedCacheOptions<V> {
  const problems: string[] = []
  const num = (field: keyof CacheOptions<V>, fallback: number, min: number, integer = true): number => {
    const value = (options[field] as number | undefined) ?? fallback
    if (typeof value !== 'number' || Number.isNaN(value) || value < min || (integer && Number.isFinite(value) && !Number.isInteger(value))) problems.push(`${String(field)} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${String(value)}`)
    return value
  }
  if (typeof options.name !== 'string' || !NAME.test(options.name)) problems.push(`name must match ${NAME}, got ${JSON.stringify(options.name)}`)
  const ttlMs = num('ttlMs', 60_000, 1)
  const resolved = {
    name: options.name,
    origin: options.origin ?? null,
    maxEntries: num('maxEntries', 10_000, 0),
    maxBytes: num('maxBytes', 64 * 1024 * 1024, 0),
    sizeOf: options.sizeOf ?? null,
    tinyLfu: options.tinyLfu ?? false,
    ttlMs,
    jitter: num('jitter', 0.1, 0, false),
    l1MaxTtlMs: num('l1MaxTtlMs', ttlMs, 1),
    negativeTtlMs: num('negativeTtlMs', 5_000, 0),
    maxStaleMs: num('maxStaleMs', 0, 0),
    failSafeThrottleMs: num('failSafeThrottleMs', 1_000, 0),
    staleWhileRevalidate: options.staleWhileRevalidate ?? false,
    softTimeoutMs: num('softTimeoutMs', 0, 0),
    hardTimeoutMs: num('hardTimeoutMs', 0, 0),
    loader: options.loader ?? null,
    l2: options.l2 ?? null,
    bus: options.bus ?? null,
    syncIntervalMs: num('syncIntervalMs', 1_000, 1),
    syncGraceMs: num('syncGraceMs', 500, 0),
    l2WritePolicy: options.l2WritePolicy ?? 'queue',
    writeQueueMax: num('writeQueueMax', 1_000, 0),
    retryIntervalMs: num('retryIntervalMs', 500, 1),
    lock: resolveLock(options.lock),
    lockByDefault: options.lock !== undefined && options.lock !== false,
    bloom: options.bloom === undefined || options.bloom === null ? null : { expectedKeys: options.bloom.expectedKeys ?? 100_000, falsePositiveRate: options.bloom.falsePositiveRate ?? 0.01, rebuildIntervalMs: options.bloom.rebuildIntervalMs ?? 60_000 },
    breaker: options.breaker === false ? null : (options.breaker ?? { windowType: 'count', windowSize: 20, minimumCalls: 10, failureRateThreshold: 50, waitInOpenMs: 5_000 }),
  }
  if (resolved.jitter > 0.9) problems.push(`jitter must be ≤ 0.9, got ${resolved.jitter}`)
  if (resolved.l2WritePolicy !== 'queue' && resolved.l2WritePolicy !== 'drop') problems.push(`l2WritePolicy must be 'queue' or 'drop'`)
  if (resolved.staleWhileRevalidate && resolved.maxStaleMs === 0) problems.push('staleWhileRevalidate needs maxStaleMs > 0 (how long a stale value may be served)')
  if (resolved.softTimeoutMs > 0 && resolved.hardTimeoutMs > 0 && resolved.softTimeoutMs >= resolved.hardTimeoutMs) problems.push('softTimeoutMs must be below hardTimeoutMs')
  if (resolved.loader !== null && typeof resolved.loader !== 'function') problems.push('loader must be a function')
  if (resolved.bloom !== null && resolved.l2 === null) problems.push('bloom needs an l2 store (it filters L2 reads)')
  if (resolved.lockByDefault && resolved.l2 === null) problems.push('lock needs an l2 store (the lock lives there)')
  if (problems.length > 0) throw new CacheInvalidConfigError(`invalid cache options: ${problems.join('; ')}`, { data: { problems } })
  return resolved
}

function resolveLock(lock: LockOptions | boolean | undefined): Required<LockOptions> {
  const o = typeof lock === 'object' && lock !== null ? lock : {}
  return { ttlMs: o.ttlMs ?? 10_000, waitMs: o.waitMs ?? 2_000, pollMs: o.pollMs ?? 50 }
}
