import type { Actor } from '../Actor.ts'
import { formatAddress } from '../ActorAddress.ts'
import type { ActorCell } from '../ActorCell.ts'
import type { ActorRef } from '../ActorRef.ts'
import { LinkedExitError } from '../errors.ts'
import { ExitReasons, isNormalExit, type ExitReason, type Terminated } from '../ExitReason.ts'
import { CellStatus, type Watcher } from './CellState.ts'
import { deferSystem, fail, runHook } from './FaultHandling.ts'

/**
 * Death watch and links (Akka's `dungeon/DeathWatch`, Erlang's links): who is told when this actor
 * stops, whom this actor watches, and what an exit arriving over a link does.
 */

export function watch(cell: ActorCell, ref: ActorRef<any>): void {
  const target = ref.cell as ActorCell | null
  const extras = cell.ext()
  if (target === null) {
    if (extras.watchingRemote === null) extras.watchingRemote = new Map()
    const key = formatAddress(ref.address)
    if (extras.watchingRemote.has(key)) return
    extras.watchingRemote.set(key, ref)
    cell.host.watchRemote(cell, ref)
    return
  }
  if (target === cell) return
  if (extras.watching === null) extras.watching = new Set()
  extras.watching.add(target)
  addWatcher(target, cell)
}

export function unwatch(cell: ActorCell, ref: ActorRef<any>): void {
  const target = ref.cell as ActorCell | null
  if (target === null) {
    const key = formatAddress(ref.address)
    if (cell.extras?.watchingRemote?.delete(key) === true) cell.host.unwatchRemote(cell, ref)
    return
  }
  cell.extras?.watching?.delete(target)
  target.removeWatcher(cell)
}

export function addWatcher(cell: ActorCell, watcher: Watcher): void {
  if (cell.status === CellStatus.Stopped) {
    notifyWatcher(watcher, { ref: cell, reason: cell.extras?.exitReason ?? ExitReasons.notFound })
    return
  }
  const extras = cell.ext()
  if (extras.watchers === null) extras.watchers = new Set()
  extras.watchers.add(watcher)
}

function notifyWatcher(watcher: Watcher, terminated: Terminated): void {
  if (typeof watcher === 'function') watcher(terminated)
  else watcher.postSystem({ type: 'terminated', terminated })
}

/** Links `cell` with `ref` both ways: an abnormal exit of either reaches the other. */
export function link(cell: ActorCell, ref: ActorRef<any>): void {
  const other = ref.cell as ActorCell | null
  if (other === null || other === cell) return
  if (other.status === CellStatus.Stopped) {
    // Erlang: linking to a process that is gone is an exit signal `noproc`.
    cell.postSystem({ type: 'linked-exit', from: ref, reason: ExitReasons.notFound })
    return
  }
  const mine = cell.ext()
  if (mine.links === null) mine.links = new Set()
  mine.links.add(other)
  const theirs = other.ext()
  if (theirs.links === null) theirs.links = new Set()
  theirs.links.add(cell)
}

export function unlink(cell: ActorCell, ref: ActorRef<any>): void {
  const other = ref.cell as ActorCell | null
  if (other === null) return
  cell.extras?.links?.delete(other)
  other.extras?.links?.delete(cell)
}

export function handleLinkedExit(cell: ActorCell, from: ActorRef<any>, reason: ExitReason): void {
  if (cell.status === CellStatus.Stopping || cell.status === CellStatus.Stopped) return
  if (cell.extras?.trapExits === true) {
    handleTerminated(cell, { ref: from, reason, linked: true })
    return
  }
  const cause = reason.kind === 'failure' ? reason.error : undefined
  fail(
    cell,
    new LinkedExitError(`linked actor ${from.path} exited: ${reason.kind}`, cause === undefined ? { data: { reason: reason.kind } } : { cause, data: { reason: reason.kind } }),
    null,
  )
}

export function handleTerminated(cell: ActorCell, terminated: Terminated): void {
  const target = terminated.ref.cell as ActorCell | null
  const watching = cell.extras?.watching
  const remoteKey = target === null && terminated.linked !== true ? formatAddress(terminated.ref.address) : null
  if (terminated.linked !== true) {
    // Unwatched meanwhile: Akka's guarantee is no Terminated after unwatch.
    if (target !== null && (!watching || !watching.delete(target))) return
    if (remoteKey !== null && cell.extras?.watchingRemote?.delete(remoteKey) !== true) return
  }
  if (cell.status !== CellStatus.Running) {
    // Deliver once the actor runs again (after a restart) rather than to a half-built instance.
    if (cell.status === CellStatus.Stopping) return
    if (watching && target !== null) watching.add(target)
    if (remoteKey !== null) cell.ext().watchingRemote?.set(remoteKey, terminated.ref)
    deferSystem(cell, { type: 'terminated', terminated })
    return
  }
  runHook(cell, () => (cell.actor as Actor<any>).onTerminated(terminated), null)
}

/** The cell stopped: drop its own watches, tell its watchers, and send its exit along its links. */
export function releaseWatches(cell: ActorCell, reason: ExitReason): void {
  const extras = cell.extras
  if (extras === null) return
  if (extras.watching !== null) {
    for (const target of extras.watching) target.removeWatcher(cell)
    extras.watching = null
  }
  if (extras.watchingRemote !== null) {
    for (const ref of extras.watchingRemote.values()) cell.host.unwatchRemote(cell, ref)
    extras.watchingRemote = null
  }
  const terminated: Terminated = { ref: cell, reason }
  if (extras.watchers !== null) {
    const watchers = extras.watchers
    extras.watchers = null
    for (const watcher of watchers) notifyWatcher(watcher, terminated)
  }
  if (extras.links !== null) {
    const links = extras.links
    extras.links = null
    for (const linked of links) {
      linked.extras?.links?.delete(cell)
      // As in Erlang a normal exit stays quiet along links; unlike Erlang, so does `shutdown`
      // (supervisors stop children with it, and it must not cascade past their ordering; see
      // docs/supervision.md). `killed` and failures propagate.
      if (!isNormalExit(reason)) linked.postSystem({ type: 'linked-exit', from: cell, reason })
    }
  }
}
