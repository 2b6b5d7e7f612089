import { Counter, Gauge, type Registry } from 'prom-client'
import { BREAKER_STATES } from './BreakerOptions.ts'
import type { BreakerCore } from './BreakerCore.ts'

/** Most distinct breaker names one registry labels; the rest share the `_other` label (bounded cardinality). */
export const MAX_BREAKER_NAMES = 1000
const OTHER = '_other'

/**
 * The breakers' metrics on a caller-supplied prom-client registry: one set per registry, shared by
 * every breaker registered on it. Breakers count on plain integers (`BreakerCore.counters`); the
 * metrics read them at scrape time, so the call path never touches prom-client.
 */
export class BreakerMetrics {
  private readonly cores = new Set<BreakerCore>()
  /** Counts of breakers that stopped, kept so a `_total` never goes down. */
  private readonly retired = new Map<string, Map<string, number>>()
  private readonly names = new Set<string>()

  private static readonly byRegistry = new WeakMap<Registry, BreakerMetrics>()

  /** The metrics of `registry` (made on first use). */
  static of(registry: Registry): BreakerMetrics {
    let metrics = BreakerMetrics.byRegistry.get(registry)
    if (metrics === undefined) {
      metrics = new BreakerMetrics(registry)
      BreakerMetrics.byRegistry.set(registry, metrics)
    }
    return metrics
  }

  private constructor(registry: Registry) {
    const registers = [registry]
    const state: Gauge<'name' | 'state'> = new Gauge({
      name: 'troupe_breaker_state',
      help: 'Circuit breakers by name in each state (1 for the current state of a breaker, 0 otherwise).',
      labelNames: ['name', 'state'],
      registers,
      collect: () => {
        state.reset()
        for (const core of this.cores) {
          const name = this.label(core.options.name)
          for (const s of BREAKER_STATES) state.inc({ name, state: s }, s === core.state ? 1 : 0)
        }
      },
    })
    const calls: Counter<'name' | 'outcome'> = new Counter({
      name: 'troupe_breaker_calls_total',
      help: 'Calls a circuit breaker let through, by outcome: success, failure, slow_success, slow_failure, ignored, timeout.',
      labelNames: ['name', 'outcome'],
      registers,
      collect: () => {
        calls.reset()
        this.each(CALL_OUTCOMES, (name, outcome, value) => calls.inc({ name, outcome }, value))
      },
    })
    const rejections: Counter<'name' | 'state'> = new Counter({
      name: 'troupe_breaker_rejections_total',
      help: 'Calls a circuit breaker refused (ERR_CALL_NOT_PERMITTED), by the state that refused them.',
      labelNames: ['name', 'state'],
      registers,
      collect: () => {
        rejections.reset()
        this.each(REJECTIONS, (name, s, value) => rejections.inc({ name, state: s }, value))
      },
    })
  }

  add(core: BreakerCore): void {
    this.cores.add(core)
  }

  /** Stops reading `core`; what it counted stays in the totals. */
  remove(core: BreakerCore): void {
    if (!this.cores.delete(core)) return
    const name = this.label(core.options.name)
    let kept = this.retired.get(name)
    if (kept === undefined) {
      kept = new Map()
      this.retired.set(name, kept)
    }
    for (const [label, read] of [...CALL_OUTCOMES, ...REJECTIONS]) kept.set(label, (kept.get(label) ?? 0) + read(core))
  }

  private label(name: string): string {
    if (this.names.has(name)) return name
    if (this.names.size >= MAX_BREAKER_NAMES) return OTHER
    this.names.add(name)
    return name
  }

  private each(table: readonly (readonly [string, (core: BreakerCore) => number])[], emit: (name: string, label: string, value: number) => void): void {
    const sums = new Map<string, Map<string, number>>()
    const add = (name: string, label: string, value: number): void => {
      let byLabel = sums.get(name)
      if (byLabel === undefined) {
        byLabel = new Map()
        sums.set(name, byLabel)
      }
      byLabel.set(label, (byLabel.get(label) ?? 0) + value)
    }
    for (const core of this.cores) {
      const name = this.label(core.options.name)
      for (const [label, read] of table) add(name, label, read(core))
    }
    for (const [name, kept] of this.retired) for (const [label] of table) add(name, label, kept.get(label) ?? 0)
    for (const [name, byLabel] of sums) for (const [label, value] of byLabel) emit(name, label, value)
  }
}

const CALL_OUTCOMES: readonly (readonly [string, (core: BreakerCore) => number])[] = [
  ['success', (c) => c.counters.success],
  ['failure', (c) => c.counters.failure],
  ['slow_success', (c) => c.counters.slowSuccess],
  ['slow_failure', (c) => c.counters.slowFailure],
  ['ignored', (c) => c.counters.ignored],
  ['timeout', (c) => c.counters.timeout],
]

const REJECTIONS: readonly (readonly [string, (core: BreakerCore) => number])[] = [
  ['open', (c) => c.counters.rejectedOpen],
  ['half_open', (c) => c.counters.rejectedHalfOpen],
  ['forced_open', (c) => c.counters.rejectedForcedOpen],
]
