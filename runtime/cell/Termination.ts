import { Actor } from '../Actor.ts'
import type { ActorCell } from '../ActorCell.ts'
import { EnvelopeKind } from '../Envelope.ts'
import { ActorKilledError, ActorStoppedError } from '../errors.ts'
import { ExitReasons, type ExitReason } from '../ExitReason.ts'
import { CellFlag, CellStatus, settleWaiters } from './CellState.ts'
import { stopChildren } from './ChildSupervision.ts'
import { releaseWatches } from './DeathWatch.ts'
import { rejectUndeliverable } from './Dispatch.ts'
import { endAwait, runHook } from './FaultHandling.ts'
import { cancelTimers } from './ReceiveTimeout.ts'
import { discardStash } from './Stash.ts'

/**
 * Stopping (Akka's `terminate` and `finishTerminate`): onStopping, then the children, then postStop,
 * then the final state in which everything queued becomes a dead letter and watchers, links and the
 * parent are told.
 */

export function handleStop(cell: ActorCell, reason: ExitReason): void {
  if (cell.status === CellStatus.Stopping || cell.status === CellStatus.Stopped) return
  cell.ext().exitReason = reason
  cell.status = CellStatus.Stopping
  cancelTimers(cell)
  const actor = cell.actor as Actor<any>
  if (actor.onStopping === Actor.prototype.onStopping || (cell.flags & CellFlag.RETIRED) !== 0) {
    stopChildrenThenFinish(cell)
    return
  }
  // A failing onStopping must not keep the actor alive: the stop goes on regardless.
  runHook(
    cell,
    () => actor.onStopping(),
    () => stopChildrenThenFinish(cell),
    true,
  )
}

function stopChildrenThenFinish(cell: ActorCell): void {
  if (stopChildren(cell)) return
  finishStop(cell)
}

export function finishStop(cell: ActorCell): void {
  cell.flags |= CellFlag.POST_STOP_STARTED
  const reason = cell.extras?.exitReason ?? ExitReasons.normal
  if ((cell.flags & CellFlag.RETIRED) !== 0) {
    // The instance already said goodbye in preRestart; its replacement never started.
    terminate(cell, reason)
    return
  }
  runHook(
    cell,
    () => (cell.actor as Actor<any>).postStop(),
    () => terminate(cell, reason),
  )
}

/** Immediate stop without finishing the current message or running postStop (children first). */
export function kill(cell: ActorCell): void {
  if (cell.status === CellStatus.Stopped) return
  if (cell.childCells !== null) for (const child of cell.childCells.toArray()) kill(child)
  const current = cell.current
  if (current !== null && (cell.flags & CellFlag.AWAITING) !== 0 && current.kind === EnvelopeKind.Ask) {
    cell.host.replyError(current, new ActorKilledError(`${cell.path} was killed while handling '${current.method}'`))
  }
  terminate(cell, ExitReasons.killed)
}

/** Final state: everything queued becomes a dead letter, watchers and parent are told. */
export function terminate(cell: ActorCell, reason: ExitReason): void {
  cell.status = CellStatus.Stopped
  const extras = cell.ext()
  extras.incarnation++
  endAwait(cell)
  cell.current = null
  cancelTimers(cell)
  extras.exitReason = reason
  const mailbox = cell.mailbox
  if (mailbox !== null) {
    // Errors capture a stack (microseconds): build one only when someone waits for it.
    if (mailbox.hasWaiters) mailbox.rejectWaiters(new ActorStoppedError(`${cell.path} has stopped`))
    const left = mailbox.drainUser()
    for (const envelope of left) rejectUndeliverable(cell, envelope)
    const hooks = cell.host.hooks
    if (left.length > 0 && hooks !== null && hooks.discarded !== undefined) hooks.discarded(cell, left.length)
    mailbox.drainSystem()
  }
  discardStash(cell)
  if (extras.subscriptions !== null) {
    for (const subscription of extras.subscriptions.values()) subscription.unsubscribe()
    extras.subscriptions = null
  }
  if (extras.registeredNames !== null) cell.host.unregisterNames(cell, extras.registeredNames)
  releaseWatches(cell, reason)
  const startWaiters = extras.startWaiters
  const preparedWaiters = extras.preparedWaiters
  if (startWaiters !== null || preparedWaiters !== null) {
    const stopped = new ActorStoppedError(`${cell.path} has stopped`)
    extras.startWaiters = null
    extras.preparedWaiters = null
    settleWaiters(startWaiters, reason.kind === 'failure' ? reason.error : stopped)
    settleWaiters(preparedWaiters, stopped)
  }
  extras.deferredSystem = null
  cell.host.cellTerminated(cell, reason)
  if (cell.parentCell !== null) {
    // Free the name at once (a supervisor may start a new incarnation under it before the
    // notification below is handled); the message tells the parent in mailbox order.
    cell.parentCell.releaseChild(cell)
    cell.parentCell.postSystem({ type: 'child-terminated', child: cell, reason })
  }
}
