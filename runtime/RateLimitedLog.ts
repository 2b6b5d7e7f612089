import type { Clock } from './Clock.ts'
import type { Logger } from './Logger.ts'

/** Default quiet period between two lines of one kind. */
export const RATE_LIMIT_INTERVAL_MS = 10_000

/** Kinds tracked at most; past it, new kinds share one slot (a stranger must not grow this map). */
const MAX_KINDS = 256
const OVERFLOW_KIND = '<other>'

type Level = 'warn' | 'info' | 'error' | 'debug'

/**
 * Log lines that a stranger or a flood can trigger at will (a malformed frame, a forged frame, a
 * refused call, a dead letter): each kind is logged the first time, then at most once per interval
 * with `suppressed`, the count held back since its last line, so a flood cannot flood the log too.
 * Time comes from the injected clock, so it behaves the same under simulation.
 */
export class RateLimitedLog {
  private readonly clock: Clock
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly level: Level
  private readonly kinds = new Map<string, { at: number; suppressed: number }>()

  constructor(clock: Clock, log: Logger, options: { readonly intervalMs?: number; readonly level?: Level } = {}) {
    this.clock = clock
    this.log = log
    this.intervalMs = options.intervalMs ?? RATE_LIMIT_INTERVAL_MS
    this.level = options.level ?? 'warn'
  }

  /** One occurrence of `kind`: logs `message` with `fields` and `suppressed`, or counts it. Returns whether it logged. */
  note(kind: string, fields: Readonly<Record<string, unknown>>, message: string): boolean {
    const now = this.clock.now()
    const key = this.kinds.has(kind) || this.kinds.size < MAX_KINDS ? kind : OVERFLOW_KIND
    const entry = this.kinds.get(key)
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++
      return false
    }
    this.log[this.level]({ ...fields, suppressed: entry?.suppressed ?? 0 }, message)
    if (entry === undefined) this.kinds.set(key, { at: now, suppressed: 0 })
    else {
      entry.at = now
      entry.suppressed = 0
    }
    return true
  }
}
