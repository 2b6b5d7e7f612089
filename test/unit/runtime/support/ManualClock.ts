import { VirtualClock } from '../../../../testing/index.ts'

/**
 * The product's VirtualClock, with the `pending` count these tests read (timers set and not yet
 * fired or cleared).
 */
export class ManualClock extends VirtualClock {
  get pending(): number {
    return this.pendingTimers
  }
}

/**
 * Timers still pending once every ask deadline has passed. Ask timeouts share one clock timer that
 * stays armed after the asks settle (re-arming per ask was a fifth of an ask's cost), so "no timer
 * left" is checked past the longest ask deadline.
 */
export function pendingAfterAskDeadlines(clock: ManualClock, system: { readonly askTimeoutMs: number }): number {
  clock.advance(system.askTimeoutMs)
  return clock.pending
}
