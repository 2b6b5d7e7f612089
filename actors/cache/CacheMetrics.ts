import { Counter, Gauge, type Registry } from 'prom-client'
import type { CacheStats } from './CacheStats.ts'

const byRegistry = new WeakMap<Registry, CacheMetrics>()

/**
 * Prometheus metrics of caches on a caller-supplied registry, read at scrape time from each cache's
 * plain counters. `cache` is the cache's name (never a key). Several shards' actors of one cache
 * add up under the same label. A restarted actor starts from zero (a counter reset to Prometheus).
 */
export class CacheMetrics {
  private readonly sources = new Set<() => CacheStats>()

  /** One instance per registry (prom-client refuses a metric name twice). */
  static of(registry: Registry): CacheMetrics {
    let metrics = byRegistry.get(registry)
    if (metrics === undefined) {
      metrics = new CacheMetrics(registry)
      byRegistry.set(registry, metrics)
    }
    return metrics
  }

  constructor(registry: Registry) {
    const registers = [registry]
    const each = (fn: (s: CacheStats) => void): void => {
      for (const source of this.sources) fn(source())
    }
    const requests: Counter<'cache' | 'tier' | 'result'> = new Counter({
      name: 'troupe_cache_requests_total',
      help: 'Cache lookups by tier (l1, l2, load) and result (hit, negative_hit, miss, stale, bloom_skip, error, success, failure, timeout, rejected).',
      labelNames: ['cache', 'tier', 'result'],
      registers,
      collect: () => {
        requests.reset()
        each((s) => {
          const inc = (tier: string, result: string, n: number): void => {
            if (n > 0) requests.inc({ cache: s.name, tier, result }, n)
          }
          inc('l1', 'hit', s.l1Hits - s.l1NegativeHits)
          inc('l1', 'negative_hit', s.l1NegativeHits)
          inc('l1', 'miss', s.l1Misses)
          inc('l1', 'stale', s.staleServes)
          inc('l2', 'hit', s.l2Hits)
          inc('l2', 'miss', s.l2Misses)
          inc('l2', 'bloom_skip', s.l2BloomSkips)
          inc('l2', 'error', s.l2Errors)
          inc('load', 'success', s.loadSuccesses)
          inc('load', 'failure', s.loadFailures)
          inc('load', 'timeout', s.loadTimeouts)
          inc('load', 'rejected', s.loadsRejected)
        })
      },
    })
    const counter = (name: string, help: string, label: string, pick: (s: CacheStats) => Record<string, number>): void => {
      const c: Counter<string> = new Counter({
        name,
        help,
        labelNames: ['cache', label],
        registers,
        collect: () => {
          c.reset()
          each((s) => {
            for (const [k, n] of Object.entries(pick(s))) if (n > 0) c.inc({ cache: s.name, [label]: k }, n)
          })
        },
      })
    }
    counter('troupe_cache_evictions_total', 'L1 entries removed, by reason (size, expired, admission, invalidated).', 'reason', (s) => ({ size: s.evictedSize, expired: s.evictedExpired, admission: s.rejectedByAdmission, invalidated: s.invalidated }))
    counter('troupe_cache_loads_total', 'Loader calls started, and callers that joined one in flight (single-flight).', 'kind', (s) => ({ started: s.loads, joined: s.singleFlightJoins }))
    counter('troupe_cache_stale_serves_total', 'Stale values served (stale-while-revalidate, fail-safe, soft timeout).', 'kind', (s) => ({ any: s.staleServes }))
    counter('troupe_cache_l2_writes_dropped_total', 'Writes not applied to L2, by reason (queue_full, policy_drop, superseded, no_base).', 'reason', (s) => s.writesDropped)
    counter('troupe_cache_invalidations_total', 'Invalidations sent and received on the bus; heals: L1 cleared after a lost one.', 'kind', (s) => ({ sent: s.invalidationsSent, received: s.invalidationsReceived, heal: s.heals }))
    const size: Gauge<'cache' | 'unit'> = new Gauge({
      name: 'troupe_cache_size',
      help: 'L1 size now, in entries and bytes (estimated), summed over the shards of a cache.',
      labelNames: ['cache', 'unit'],
      registers,
      collect: () => {
        size.reset()
        each((s) => {
          size.inc({ cache: s.name, unit: 'entries' }, s.entries)
          size.inc({ cache: s.name, unit: 'bytes' }, s.bytes)
        })
      },
    })
  }

  /** Starts reporting a cache; the returned function stops it. */
  add(stats: () => CacheStats): () => void {
    this.sources.add(stats)
    return () => {
      this.sources.delete(stats)
    }
  }
}
