import type { ActorCell } from '../ActorCell.ts'
import { Deque } from '../Deque.ts'
import { EnvelopeKind, type Envelope } from '../Envelope.ts'
import { NotInActorError, StashFullError } from '../errors.ts'
import { ensureMailbox, notePosted, rejectUndeliverable, wake } from './Dispatch.ts'

/**
 * The stash (Akka's `StashSupport`): the current message is set aside, bounded, and put back at the
 * head of the mailbox in order by `unstashAll` (and after a restart).
 */

const DEFAULT_STASH_CAPACITY = 1000
/** Asks whose handler stashed them: their reply waits until they are handled for real. */
const stashedAsks = new WeakSet<Envelope>()

export function stash(cell: ActorCell): void {
  const envelope = cell.current
  if (envelope === null) throw new NotInActorError('stash() is only valid while handling a message')
  const extras = cell.ext()
  if (extras.stash === null) extras.stash = new Deque<Envelope>(8)
  const capacity = cell.options.stashCapacity ?? DEFAULT_STASH_CAPACITY
  if (extras.stash.length >= capacity) throw new StashFullError(`stash of ${cell.path} is full (${capacity})`, { data: { capacity } })
  extras.stash.push(envelope)
  if (envelope.kind === EnvelopeKind.Ask) stashedAsks.add(envelope)
}

export function unstashAll(cell: ActorCell): void {
  const stashed = cell.extras?.stash
  if (!stashed || stashed.length === 0) return
  const mailbox = ensureMailbox(cell)
  const unstashed = stashed.drain()
  mailbox.prependUser(unstashed)
  notePosted(cell, mailbox, unstashed.length)
  wake(cell)
}

/** The actor stopped: what it had set aside will never be handled. */
export function discardStash(cell: ActorCell): void {
  const stashed = cell.extras?.stash
  if (stashed) for (const envelope of stashed.drain()) rejectUndeliverable(cell, envelope)
}

/** Whether this cell ever stashed: only then can an envelope it handles be marked (a WeakSet lookup saved per ask). */
export function hasStash(cell: ActorCell): boolean {
  return cell.extras !== null && cell.extras.stash !== null
}

export function isStashedAsk(envelope: Envelope): boolean {
  return stashedAsks.has(envelope)
}

/** The ask is being handled (again): its outcome is its reply. */
export function unmarkStashedAsk(envelope: Envelope): void {
  stashedAsks.delete(envelope)
}
