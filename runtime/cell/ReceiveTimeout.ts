import type { ActorCell } from '../ActorCell.ts'
import { InvalidArgumentError } from '../errors.ts'
import { Timers, type TimerEntry } from '../Timers.ts'
import type { ReceiveTimeoutState } from './CellState.ts'
import { deliverTimer } from './Dispatch.ts'

/**
 * Timers and the receive timeout (Akka's `dungeon/ReceiveTimeout` and `TimerScheduler`): both
 * deliver through the user lane as Timer envelopes, and a firing that was cancelled or superseded
 * meanwhile is dropped when it comes up.
 */

const RECEIVE_TIMEOUT_KEY = '$receive-timeout'

export function timersOf(cell: ActorCell): Timers<any> {
  const extras = cell.ext()
  if (extras.timers === null) extras.timers = new Timers<any>(cell)
  return extras.timers
}

export function setReceiveTimeout(cell: ActorCell, timeoutMs: number, method: string, args: unknown[]): void {
  if (!(timeoutMs > 0)) throw new InvalidArgumentError(`receive timeout must be > 0, got ${timeoutMs}`)
  cancelReceiveTimeout(cell)
  const entry: TimerEntry = { key: RECEIVE_TIMEOUT_KEY, method, args, intervalMs: 0, handle: null }
  const timeout: ReceiveTimeoutState = { timeoutMs, entry, lastActivity: cell.host.clock.now(), armed: null }
  cell.ext().receiveTimeout = timeout
  arm(cell, timeout, timeoutMs)
}

export function cancelReceiveTimeout(cell: ActorCell): void {
  const extras = cell.extras
  const timeout = extras?.receiveTimeout
  if (!extras || !timeout) return
  if (timeout.armed !== null) cell.host.clock.clearTimer(timeout.armed)
  extras.receiveTimeout = null
}

/** Restart and stop: no timer of the old instance fires into the new one (or into nothing). */
export function cancelTimers(cell: ActorCell): void {
  const extras = cell.extras
  if (extras === null) return
  if (extras.timers !== null) extras.timers.cancelAll()
  cancelReceiveTimeout(cell)
}

/** A user message arrived: the receive timeout counts idleness from now. */
export function noteActivity(cell: ActorCell): void {
  const timeout = cell.extras?.receiveTimeout
  if (timeout) timeout.lastActivity = cell.host.clock.now()
}

/** Whether a timer envelope taken from the mailbox is still wanted (not cancelled or replaced). */
export function acceptTimerFiring(cell: ActorCell, entry: TimerEntry): boolean {
  if (entry.key === RECEIVE_TIMEOUT_KEY) return cell.extras?.receiveTimeout?.entry === entry
  return cell.extras?.timers?.acceptFiring(entry) === true
}

/**
 * One clock timer per receive timeout, re-armed for the rest of the idle time when messages came
 * meanwhile, so a busy actor costs a clock read per message, not a timer per message.
 */
function arm(cell: ActorCell, timeout: ReceiveTimeoutState, delayMs: number): void {
  const clock = cell.host.clock
  timeout.armed = clock.setTimer(delayMs, () => {
    if (cell.extras?.receiveTimeout !== timeout) return
    const idle = clock.now() - timeout.lastActivity
    if (idle >= timeout.timeoutMs) {
      timeout.lastActivity = clock.now()
      arm(cell, timeout, timeout.timeoutMs)
      deliverTimer(cell, timeout.entry)
    } else {
      arm(cell, timeout, timeout.timeoutMs - idle)
    }
  })
}
