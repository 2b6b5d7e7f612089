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
