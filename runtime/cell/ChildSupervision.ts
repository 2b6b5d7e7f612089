import type { Actor, Directive } from '../Actor.ts'
import type { ActorCell } from '../ActorCell.ts'
import type { ActorRef } from '../ActorRef.ts'
import type { TimerHandle } from '../Clock.ts'
import { InvalidArgumentError, toError } from '../errors.ts'
import { ExitReasons, type ExitReason, type Terminated } from '../ExitReason.ts'
import { CellFlag, CellStatus } from './CellState.ts'
import { addWatcher } from './DeathWatch.ts'
import { deferSystem, fail, restartPhaseOneDone, whenPrepared, whenRunning } from './FaultHandling.ts'
import { finishStop, kill } from './Termination.ts'

/**
 * The parent's side of supervision (Akka's `dungeon/Children` with the supervisor half of
 * `FaultHandling`): directives for a failed child, the admin calls a supervisor makes on its
 * children (restart in two phases, resume, stop with a shutdown timeout, kill), and what a child's
 * termination means for a parent that is itself stopping or restarting.
 */

export function ownChild(cell: ActorCell, ref: ActorRef<any>): ActorCell {
  const child = ref.cell as ActorCell | null
  if (child === null || child.parentCell !== cell) {
    throw new InvalidArgumentError(`${ref.path} is not a child of ${cell.path}`)
  }
  return child
}

/**
 * Restarts a child in place: the same ref, a fresh instance. With `hold`, stops after the first
 * phase (preRestart, children stopped) until `completeRestart`, so a supervisor can order phases
 * across siblings as OTP does. Resolves when the phase asked for is done.
 */
export function restartChild(cell: ActorCell, ref: ActorRef<any>, cause: Error, options: { hold?: boolean; keepChildren?: boolean }): Promise<void> {
  const child = ownChild(cell, ref)
  const hold = options.hold === true
  const done = hold ? whenPrepared(child) : whenRunning(child, true)
  child.postSystem({ type: 'restart', error: cause, hold, keepChildren: options.keepChildren === true })
  return done
}

/** Second phase of a held restart: builds the new instance; resolves when it runs. */
export function completeRestart(cell: ActorCell, ref: ActorRef<any>): Promise<void> {
  const child = ownChild(cell, ref)
  const done = whenRunning(child, true)
  child.postSystem({ type: 'complete-restart' })
  return done
}

/**
 * Stops a child and resolves when it has stopped. `shutdown`: `brutal` kills at once; a number of
 * ms lets it finish its current message, children and postStop, then kills it; `infinity` waits.
 */
export function stopChild(cell: ActorCell, ref: ActorRef<any>, shutdown: 'brutal' | 'infinity' | number, reason: ExitReason): Promise<Terminated> {
  const child = ownChild(cell, ref)
  const clock = cell.host.clock
  return new Promise<Terminated>((resolve) => {
    let timer: TimerHandle | null = null
    addWatcher(child, (terminated) => {
      if (timer !== null) clock.clearTimer(timer)
      resolve(terminated)
    })
    if (shutdown === 'brutal') {
      kill(child)
      return
    }
    child.postSystem({ type: 'stop', reason })
    if (shutdown !== 'infinity') timer = clock.setTimer(shutdown, () => kill(child))
  })
}

/** Asks every child to stop; true when there are children to wait for. */
export function stopChildren(cell: ActorCell): boolean {
  const children = cell.childCells
  if (children === null || children.size === 0) return false
  for (const child of children.toArray()) {
    if (child.status !== CellStatus.Stopped) child.postSystem({ type: 'stop', reason: ExitReasons.shutdown })
  }
  return true
}

export function handleChildFailed(cell: ActorCell, child: ActorCell, error: Error): void {
  const children = cell.childCells
  if (children === null || !children.contains(child) || child.status !== CellStatus.Suspended) return
  if (cell.status === CellStatus.Stopping || cell.status === CellStatus.Restarting) return
  let directive: Directive | void
  let cause = error
  try {
    directive = (cell.actor as Actor<any>).onChildFailure(child, error)
  } catch (thrown) {
    directive = 'escalate'
    cause = toError(thrown)
  }
  // No directive: the actor took charge and will restart, resume or stop the child itself.
  if (directive !== undefined) applyDirective(cell, child, directive, cause)
}

/** Applies a supervision directive to a failed child. */
export function applyDirective(cell: ActorCell, child: ActorCell, directive: Directive, error: Error): void {
  switch (directive) {
    case 'resume':
      child.postSystem({ type: 'resume' })
      return
    case 'restart':
      child.postSystem({ type: 'restart', error, hold: false })
      return
    case 'stop':
      child.postSystem({ type: 'stop', reason: ExitReasons.failure(error) })
      return
    case 'escalate': {
      // Remembered so that if our parent resumes us, the child resumes too (Akka: resuming an
      // actor resumes its subordinates); a restart or stop of ours stops it anyway.
      const extras = cell.ext()
      if (extras.escalated === null) extras.escalated = new Set()
      extras.escalated.add(child)
      fail(cell, error, null)
      return
    }
  }
}

export function handleChildTerminated(cell: ActorCell, child: ActorCell, reason: ExitReason): void {
  const removed = cell.childCells?.remove(child) === true
  if (cell.status === CellStatus.Suspended && !removed) {
    // Held until we run again (resumed: replayed; restarted: the new instance has no use for it).
    deferSystem(cell, { type: 'child-terminated', child, reason })
  } else if (cell.status === CellStatus.Running) {
    const actor = cell.actor as Actor<any>
    try {
      actor.onChildTerminated(child, reason)
    } catch (thrown) {
      fail(cell, toError(thrown), null)
    }
  }
  const children = cell.childCells
  if (children !== null && children.size > 0) return
  const extras = cell.extras
  if (cell.status === CellStatus.Stopping && extras?.exitReason && (cell.flags & (CellFlag.POST_STOP_STARTED | CellFlag.AWAITING)) === 0) finishStop(cell)
  else if (cell.status === CellStatus.Restarting && extras?.restartCause && (cell.flags & CellFlag.PRE_RESTART_DONE) !== 0) restartPhaseOneDone(cell)
}

/** Queued user messages plus in-flight handlers in this subtree (for draining on shutdown). */
export function pendingWork(cell: ActorCell): number {
  // A suspended or restarting actor's queue cannot drain by itself: waiting for it would only stall shutdown.
  const queued = cell.status === CellStatus.Running ? cell.mailboxSize : 0
  let pending = queued + ((cell.flags & CellFlag.AWAITING) !== 0 ? 1 : 0)
  if (cell.childCells !== null) cell.childCells.forEach((child) => (pending += pendingWork(child)))
  return pending
}
