import { REJECTED } from '../breaker/BreakerCore.ts'
import { CallNotPermittedError, CacheLoadFailedError, CacheLoadTimeoutError } from '../errors.ts'
import { UNKNOWN_VERSION, type CacheCore } from './CacheCore.ts'
import type { Loader } from './CacheOptions.ts'
import type { CacheNode } from './LruList.ts'
import type { Writes } from './Writes.ts'

export interface LoadOptions {
  readonly ttlMs?: number
  readonly tags?: readonly string[]
  /** Take the distributed lock for this load (default: the cache's `lock` option). */
  readonly lock?: boolean
  readonly softTimeoutMs?: number
  readonly hardTimeoutMs?: number
}

/** One load in flight for one key on this shard; every concurrent miss joins it (single-flight). */
interface Flight<V> {
  readonly promise: Promise<V | undefined>
  resolve(value: V | undefined): void
  reject(error: Error): void
  settled: boolean
}

/**
 * Loads: single-flight per key, the distributed lock, the loader's breaker, soft and hard timeouts,
 * stale-while-revalidate and fail-safe. A load that outlives a timeout keeps running and fills the
 * cache when it completes (FusionCache's background factory completion).
 */
export class Loads<V> {
  private readonly core: CacheCore<V>
  private readonly writes: Writes<V>
  private readonly flights = new Map<string, Flight<V>>()

  constructor(core: CacheCore<V>, writes: Writes<V>) {
    this.core = core
    this.writes = writes
  }

  get inFlight(): number {
    return this.flights.size
  }

  /** The flight for `key`, if a load is running (a plain `get` joins it rather than read L2 again). */
  joining(key: string): Promise<V | undefined> | null {
    const flight = this.flights.get(key)
    if (flight === undefined) return null
    this.core.stats.singleFlightJoins++
    return flight.promise
  }

  /** After an L1 miss (`stale`: the expired entry still within max-stale, if any). */
  load(key: string, loader: Loader<V>, options: LoadOptions, stale: CacheNode<V> | null): Promise<V | undefined> {
    const joined = this.joining(key)
    const swr = stale !== null && this.core.o.staleWhileRevalidate
    if (joined !== null && !swr) return joined
    if (swr) {
      // Stale-while-revalidate: answer now, refresh in the background (one refresh per key).
      this.core.stats.staleServes++
      if (joined === null) this.start(key, loader, options, stale).promise.catch(() => {})
      return Promise.resolve(stale.value)
    }
    return this.start(key, loader, options, stale).promise
  }

  private start(key: string, loader: Loader<V>, options: LoadOptions, stale: CacheNode<V> | null): Flight<V> {
    let resolve!: (value: V | undefined) => void
    let reject!: (error: Error) => void
    const promise = new Promise<V | undefined>((res, rej) => {
      resolve = res
      reject = rej
    })
    const flight: Flight<V> = {
      promise,
      settled: false,
      resolve(value) {
        if (this.settled) return
        this.settled = true
        resolve(value)
      },
      reject(error) {
        if (this.settled) return
        this.settled = true
        reject(error)
      },
    }
    this.flights.set(key, flight)
    void this.run(key, loader, options, stale, flight)
      .catch((error: unknown) => {
        // A safety net: every expected failure is handled inside `run`; nothing may escape as an unhandled rejection.
        flight.reject(new CacheLoadFailedError(`cache '${this.core.o.name}': load of '${key}' failed`, { cause: error, data: { cache: this.core.o.name, key } }))
      })
      .finally(() => {
        if (this.flights.get(key) === flight) this.flights.delete(key)
      })
    return flight
  }

  private async run(key: string, loader: Loader<V>, options: LoadOptions, stale: CacheNode<V> | null, flight: Flight<V>): Promise<void> {
    const core = this.core
    const fill = await core.fillFromL2(key)
    if (fill.node !== null) return flight.resolve(fill.node.value)
    const fallback = pickStale(stale, fill.stale)
    let token = 0
    const l2 = core.o.l2
    if (l2 !== null && fill.base !== UNKNOWN_VERSION && (options.lock ?? core.o.lockByDefault)) {
      token = await l2.lock(key, core.o.lock.ttlMs).catch(() => -1)
      if (token === 0) {
        core.stats.lockWaits++
        const found = await this.awaitOther(key, fill.base)
        if (found !== null) return flight.resolve(found.value)
        core.stats.lockTimeouts++
      }
    }
    try {
      await this.call(key, loader, options, fallback, fill.base, flight)
    } finally {
      if (token > 0) await l2?.unlock(key, token).catch(() => false)
    }
  }

  /** Another node holds the lock: poll L2 for its value until the wait ends. */
  private async awaitOther(key: string, base: number): Promise<CacheNode<V> | null> {
    const core = this.core
    const { waitMs, pollMs } = core.o.lock
    const until = core.clock.now() + waitMs
    while (core.clock.now() < until) {
      await new Promise<void>((resolve) => core.clock.setTimer(pollMs, resolve))
      const fill = await core.fillFromL2(key)
      if (fill.node !== null && fill.node.version > base) return fill.node
    }
    return null
  }

  private async call(key: string, loader: Loader<V>, options: LoadOptions, stale: CacheNode<V> | null, base: number, flight: Flight<V>): Promise<void> {
    const core = this.core
    const breaker = core.breaker
    const permit = breaker === null ? 0 : breaker.acquire()
    if (permit === REJECTED) {
      core.stats.loadsRejected++
      const data = (breaker as NonNullable<typeof breaker>).rejection()
      return this.failSafe(flight, stale, new CallNotPermittedError(`cache '${core.o.name}': loader breaker is ${data.state}`, { data }))
    }
    const epoch = breaker?.epoch ?? 0
    core.stats.loads++
    const started = core.clock.now()
    const soft = options.softTimeoutMs ?? core.o.softTimeoutMs
    const hard = options.hardTimeoutMs ?? core.o.hardTimeoutMs
    const timers: ReturnType<typeof core.clock.setTimer>[] = []
    if (soft > 0 && stale !== null) {
      timers.push(
        core.clock.setTimer(soft, () => {
          if (flight.settled) return
          core.stats.softTimeouts++
          core.stats.staleServes++
          flight.resolve(stale.value)
        }),
      )
    }
    let timedOut = false
    if (hard > 0) {
      timers.push(
        core.clock.setTimer(hard, () => {
          if (flight.settled) return
          timedOut = true
          core.stats.loadTimeouts++
          this.failSafe(flight, stale, new CacheLoadTimeoutError(`cache '${core.o.name}': load of '${key}' outlived ${hard} ms`, { data: { cache: core.o.name, key, timeoutMs: hard } }))
        }),
      )
    }
    let value: V | undefined
    try {
      value = await loader(key)
    } catch (error) {
      for (const t of timers) core.clock.clearTimer(t)
      core.stats.loadFailures++
      breaker?.complete(epoch, permit, timedOut ? 'timeout' : 'failure', core.clock.now() - started)
      return this.failSafe(flight, stale, new CacheLoadFailedError(`cache '${core.o.name}': loader failed for '${key}'`, { cause: error, data: { cache: core.o.name, key } }))
    }
    for (const t of timers) core.clock.clearTimer(t)
    core.stats.loadSuccesses++
    breaker?.complete(epoch, permit, timedOut ? 'timeout' : 'success', core.clock.now() - started)
    const stored = this.store(key, value, options, base)
    flight.resolve(value)
    if (stored !== null && core.o.l2 !== null) {
      const { node, ttl } = stored
      if (base === UNKNOWN_VERSION) {
        // The L2 read failed, so the version to compare with is unknown: keep the value in L1 only.
        core.stats.writesDropped['no_base'] = (core.stats.writesDropped['no_base'] ?? 0) + 1
      } else {
        await this.writes.fill(node, Math.max(0, base), ttl, node.negative ? 0 : core.o.maxStaleMs, options.tags ?? [])
      }
    }
  }

  /** Puts a loaded value in L1 (negative when undefined, if negative caching is on). */
  private store(key: string, value: V | undefined, options: LoadOptions, base: number): { node: CacheNode<V>; ttl: number } | null {
    const core = this.core
    const negative = value === undefined
    if (negative && core.o.negativeTtlMs === 0) return null
    const ttl = core.jittered(negative ? core.o.negativeTtlMs : (options.ttlMs ?? core.o.ttlMs))
    const tags = options.tags ?? []
    const node = core.node(key, value, negative, ttl, negative ? 0 : core.o.maxStaleMs, Math.max(0, base), tags.length === 0 ? null : tags)
    core.keep(node)
    return { node, ttl }
  }

  /** Fail-safe: a stale value within max-stale stands in for a failed load, and counts as fresh for a throttle period. */
  private failSafe(flight: Flight<V>, stale: CacheNode<V> | null, error: Error): void {
    const core = this.core
    const now = core.clock.now()
    if (stale !== null && stale.staleUntil > now) {
      if (!flight.settled) core.stats.staleServes++
      stale.freshUntil = Math.min(stale.staleUntil, now + core.o.failSafeThrottleMs)
      core.keep(stale)
      flight.resolve(stale.value)
      return
    }
    flight.reject(error)
  }
}

function pickStale<V>(a: CacheNode<V> | null, b: CacheNode<V> | null): CacheNode<V> | null {
  if (a === null) return b
  if (b === null) return a
  return b.version > a.version ? b : a
}
