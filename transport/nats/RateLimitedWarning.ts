import type { Clock, Logger } from '../../runtime/index.ts'

/** Default quiet period between two warnings of one kind. */
export const WARNING_INTERVAL_MS = 10_000

/**
 * One kind of warning that a stranger can trigger at will (a forged frame per message): logged the
 * first time, then at most once per interval with the count of those held back meanwhile, so a
 * flood cannot flood the log too. Time comes from the injected clock.
 */
export class RateLimitedWarning {
  private readonly clock: Clock
  private readonly log: Logger
  private readonly message: string
  private readonly intervalMs: number
  private lastAt: number | null = null
  private suppressed = 0

  constructor(clock: Clock, log: Logger, message: string, intervalMs = WARNING_INTERVAL_MS) {
    this.clock = clock
    this.log = log
    this.message = message
    this.intervalMs = intervalMs
  }

  /** One occurrence: logs it with `fields` (and `suppressed`, those not logged since the last line), or counts it. */
  note(fields: Record<string, unknown>): void {
    const now = this.clock.now()
    if (this.lastAt !== null && now - this.lastAt < this.intervalMs) {
      this.suppressed++
      return
    }
    this.log.warn({ ...fields, suppressed: this.suppressed }, this.message)
    this.lastAt = now
    this.suppressed = 0
  }
}
