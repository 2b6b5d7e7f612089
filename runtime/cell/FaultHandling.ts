import { withConstructionContext, type Actor } from '../Actor.ts'
import type { ActorCell } from '../ActorCell.ts'
import type { Envelope } from '../Envelope.ts'
import { EnvelopeKind } from '../Envelope.ts'
import { ActorInitError, ActorStoppedError, toError } from '../errors.ts'
import { ExitReasons } from '../ExitReason.ts'
import { CellFlag, CellStatus, isThenable, settleWaiters, type SystemMessage } from './CellState.ts'
import { stopChildren } from './ChildSupervision.ts'
import { ensureMailbox, wake } from './Dispatch.ts'
import { cancelTimers } from './ReceiveTimeout.ts'
import { unstashAll } from './Stash.ts'
import { terminate } from './Termination.ts'

/**
 * Fault handling (Akka's `dungeon/FaultHandling`): a failure suspends the actor and reports to its
 * parent; a restart runs preRestart, stops the children, builds a fresh instance in the same cell
 * (every ref stays valid) and runs postRestart. Lifecycle hooks may be async; the cell then waits.
 */

/**
 * A handler (or lifecycle hook) failed. The crashing message is not redelivered: it goes to dead
 * letters with the reason, an ask gets the error, and the parent decides what happens next.
 */
export function fail(cell: ActorCell, error: Error, envelope: Envelope | null): void {
  if (envelope !== null) {
    // The failing message always gets its outcome, whatever state the actor is in by now.
    if (envelope.kind === EnvelopeKind.Ask) cell.host.replyError(envelope, error)
    cell.host.deadLetter(envelope, 'failed', error)
  }
  const status = cell.status
  // Already failed, being replaced, or gone: the parent has (or had) this actor's case in hand;
  // reporting again would charge its restart budget twice.
  if (status === CellStatus.Stopped || status === CellStatus.Suspended || status === CellStatus.Restarting) return
  if (status === CellStatus.Stopping) {
    // A handler still in flight (reentrant) failing does not cut the stop short; a lifecycle hook
    // failing (postStop threw) ends it, with the failure as the exit reason.
    if (envelope !== null) return
    cell.host.lifecycle(cell, 'failed', error)
    terminate(cell, ExitReasons.failure(error))
    return
  }
  if (status === CellStatus.Starting && cell.extras !== null) {
    const waiters = cell.extras.startWaiters
    cell.extras.startWaiters = null
    settleWaiters(waiters, error)
  }
  cell.status = CellStatus.Suspended
  cell.host.lifecycle(cell, 'failed', error, envelope === null ? undefined : envelope.method)
  if (cell.parentCell === null) cell.host.topLevelFailure(cell, error)
  else cell.parentCell.postSystem({ type: 'child-failed', child: cell, error })
}

/** The parent's `resume`: carry on with the state as it was, and resume what we escalated. */
export function handleResume(cell: ActorCell): void {
  if (cell.status !== CellStatus.Suspended) return
  cell.status = CellStatus.Running
  replayDeferred(cell)
  const escalated = cell.extras?.escalated
  if (escalated) {
    for (const child of escalated) if (child.status === CellStatus.Suspended) child.postSystem({ type: 'resume' })
    escalated.clear()
  }
}

export function handleRestart(cell: ActorCell, error: Error, hold: boolean, keepChildren: boolean): void {
  if (cell.status === CellStatus.Stopping || cell.status === CellStatus.Stopped) return
  if (hold) cell.flags |= CellFlag.HOLD_RESTART
  else cell.flags &= ~CellFlag.HOLD_RESTART
  cell.status = CellStatus.Restarting
  cell.ext().incarnation++
  endAwait(cell)
  cell.current = null
  cancelTimers(cell)
  cell.ext().restartCause = error
  cell.flags &= ~CellFlag.PRE_RESTART_DONE
  const old = cell.actor as Actor<any>
  cell.flags |= CellFlag.RETIRED
  runHook(
    cell,
    () => old.preRestart(error),
    () => {
      cell.flags |= CellFlag.PRE_RESTART_DONE
      // keepChildren (Akka typed `withStopChildren(false)`): the children outlive the instance.
      if (keepChildren || !stopChildren(cell)) restartPhaseOneDone(cell)
    },
    true,
  )
}

/** preRestart ran and the children are gone: go on, or wait for `complete-restart` when held. */
export function restartPhaseOneDone(cell: ActorCell): void {
  if ((cell.flags & CellFlag.HOLD_RESTART) === 0) {
    finishRestart(cell)
    return
  }
  const extras = cell.ext()
  extras.prepared = true
  const waiters = extras.preparedWaiters
  extras.preparedWaiters = null
  settleWaiters(waiters, null)
}

export function finishRestart(cell: ActorCell): void {
  const error = cell.extras?.restartCause as Error
  cell.ext().restartCause = null
  let fresh: Actor<any>
  try {
    fresh = construct(cell)
  } catch (thrown) {
    cell.status = CellStatus.Starting
    fail(cell, thrown instanceof ActorInitError ? thrown : new ActorInitError(`${cell.path} failed in its constructor`, { cause: thrown }), null)
    return
  }
  cell.actor = fresh
  cell.flags &= ~CellFlag.RETIRED
  cell.status = CellStatus.Starting
  runHook(cell, () => fresh.postRestart(error), () => started(cell, true))
}

export function started(cell: ActorCell, restarted: boolean): void {
  cell.status = CellStatus.Running
  cell.host.lifecycle(cell, restarted ? 'restarted' : 'started')
  if (cell.extras !== null && cell.extras.startWaiters !== null) {
    const waiters = cell.extras.startWaiters
    cell.extras.startWaiters = null
    settleWaiters(waiters, null)
  }
  replayDeferred(cell)
  if (restarted) unstashAll(cell)
}

export function construct(cell: ActorCell): Actor<any> {
  const args = cell.options.args ?? []
  try {
    return withConstructionContext(cell, () => new cell.actorClass(...args))
  } catch (thrown) {
    if (thrown instanceof ActorInitError) throw thrown
    throw new ActorInitError(`${cell.path}: constructor of ${cell.actorClass.name} threw: ${toError(thrown).message}`, { cause: thrown })
  }
}

/**
 * Runs a lifecycle hook that may return a promise; `next` continues once it completes. A failure
 * in preStart/postRestart is a start failure; in postStop it ends the stop with that failure; in
 * preRestart it is ignored (the instance is being replaced anyway), as in Akka.
 */
export function runHook(cell: ActorCell, hook: () => unknown, next: (() => void) | null, ignoreFailure = false): void {
  const onError = (thrown: unknown): void => {
    const error = toError(thrown)
    if (ignoreFailure) {
      if (next !== null) next()
      return
    }
    const starting = cell.status === CellStatus.Starting
    fail(cell, starting ? new ActorInitError(`${cell.path} failed to start: ${error.message}`, { cause: error }) : error, null)
  }
  let result: unknown
  try {
    result = hook()
  } catch (thrown) {
    onError(thrown)
    return
  }
  if (!isThenable(result)) {
    if (next !== null) next()
    return
  }
  const incarnation = cell.incarnation
  beginAwait(cell)
  result.then(
    () => {
      if (incarnation !== cell.incarnation || cell.status === CellStatus.Stopped) return
      endAwait(cell)
      if (next !== null) next()
      wake(cell)
    },
    (thrown) => {
      if (incarnation !== cell.incarnation || cell.status === CellStatus.Stopped) return
      endAwait(cell)
      onError(thrown)
      wake(cell)
    },
  )
}

/** The actor now waits on a promise; the simulator is told so it can tell idle from blocked-outside. */
export function beginAwait(cell: ActorCell): void {
  cell.flags |= CellFlag.AWAITING
  const scheduler = cell.host.public.scheduler
  if (scheduler.awaitStarted !== undefined) scheduler.awaitStarted(cell)
}

export function endAwait(cell: ActorCell): void {
  if ((cell.flags & CellFlag.AWAITING) === 0) return
  cell.flags &= ~CellFlag.AWAITING
  const scheduler = cell.host.public.scheduler
  if (scheduler.awaitEnded !== undefined) scheduler.awaitEnded(cell)
}

/** Notifications held while the actor was not running go back to its system lane, in order. */
export function replayDeferred(cell: ActorCell): void {
  const extras = cell.extras
  const deferred = extras === null ? null : extras.deferredSystem
  if (extras === null || deferred === null) return
  extras.deferredSystem = null
  for (const message of deferred) ensureMailbox(cell).postSystem(message)
}

export function deferSystem(cell: ActorCell, message: SystemMessage): void {
  const extras = cell.ext()
  if (extras.deferredSystem === null) extras.deferredSystem = []
  extras.deferredSystem.push(message)
}

/** @internal Resolves when the actor next reaches Running; rejects if it fails to start or stops. */
export function whenRunning(cell: ActorCell, next: boolean): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (cell.status === CellStatus.Stopped) {
      reject(new ActorStoppedError(`${cell.path} has stopped`))
      return
    }
    if (!next && cell.status === CellStatus.Running) {
      resolve()
      return
    }
    const extras = cell.ext()
    if (extras.startWaiters === null) extras.startWaiters = []
    extras.startWaiters.push({ resolve, reject })
  })
}

/** Resolves when a held restart has finished its first phase. */
export function whenPrepared(cell: ActorCell): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (cell.status === CellStatus.Stopped) {
      reject(new ActorStoppedError(`${cell.path} has stopped`))
      return
    }
    const extras = cell.ext()
    if (extras.preparedWaiters === null) extras.preparedWaiters = []
    extras.preparedWaiters.push({ resolve, reject })
  })
}
