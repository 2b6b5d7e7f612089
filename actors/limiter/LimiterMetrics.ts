import { Counter, Gauge, type Registry } from 'prom-client'
import type { LimiterStats } from './RateLimiter.ts'

interface Source {
  readonly name: string
  stats(): LimiterStats
}

/**
 * Prometheus metrics of rate limiters on a caller-supplied registry, read at scrape time from each
 * limiter's plain counters (the hot path only increments integers). `limiter` is the name the
 * limiter was given (one per limiter type, never a per-key label). A restarted limiter starts its
 * counters from zero, which Prometheus reads as a counter reset.
 */
export class LimiterMetrics {
  private readonly sources = new Set<Source>()

  constructor(registry: Registry) {
    const registers = [registry]
    const decisions: Counter<'limiter' | 'outcome' | 'source'> = new Counter({
      name: 'troupe_rate_limiter_decisions_total',
      help: 'Rate-limit decisions by limiter, outcome (allowed, refused) and source (store, memory-block, insurance, fail-open, fail-closed).',
      labelNames: ['limiter', 'outcome', 'source'],
      registers,
      collect: () => {
        decisions.reset()
        for (const source of this.sources) {
          const stats = source.stats()
          for (const [from, count] of Object.entries(stats.bySource)) if (count > 0) decisions.inc({ limiter: source.name, outcome: 'all', source: from }, count)
          decisions.inc({ limiter: source.name, outcome: 'allowed', source: 'any' }, stats.allowed)
          decisions.inc({ limiter: source.name, outcome: 'refused', source: 'any' }, stats.refused)
        }
      },
    })
    const failures: Counter<'limiter'> = new Counter({
      name: 'troupe_rate_limiter_store_failures_total',
      help: 'Calls to a limiter store (Redis) that failed; the insurance limiter or the failure policy answered them.',
      labelNames: ['limiter'],
      registers,
      collect: () => {
        failures.reset()
        for (const source of this.sources) failures.inc({ limiter: source.name }, source.stats().storeFailures)
      },
    })
    const blocked: Gauge<'limiter'> = new Gauge({
      name: 'troupe_rate_limiter_memory_blocked_keys',
      help: 'Keys refused from memory (in-memory block shortcut) right now.',
      labelNames: ['limiter'],
      registers,
      collect: () => {
        blocked.reset()
        for (const source of this.sources) blocked.set({ limiter: source.name }, source.stats().memoryBlocked)
      },
    })
  }

  /** Starts reporting a limiter; the returned function stops it. */
  add(name: string, stats: () => LimiterStats): () => void {
    const source: Source = { name, stats }
    this.sources.add(source)
    return () => {
      this.sources.delete(source)
    }
  }
}
