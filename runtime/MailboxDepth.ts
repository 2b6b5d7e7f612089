import type { ActorRef } from './ActorRef.ts'

/** What a local ref's fast path exposes about its mailbox (the cell; see ActorCell). */
interface LocalMailboxView {
  readonly mailboxSize: number
  readonly isAlive: boolean
}

/**
 * User messages waiting in the mailbox of a local actor, for load-aware routing and pool resizing.
 * -1 when the depth is unknown here: the actor lives in another shard or node, or has stopped.
 * A read of one field: cheap enough to call per routed message.
 */
export function mailboxDepth(ref: ActorRef<any>): number {
  const cell = ref.cell as LocalMailboxView | null
  if (cell === null || !cell.isAlive) return -1
  return cell.mailboxSize
}
