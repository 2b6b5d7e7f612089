/** Which actor system a frame goes to: a shard of a node of a named system. */
export interface SystemAddress {
  readonly system: string
  readonly node: string
  readonly shard: number
}

export function systemKey(address: SystemAddress): string {
  return `${address.system}@${address.node}:${address.shard}`
}

/**
 * Moves opaque frames between actor systems. The NATS transport (between nodes), the shard rings
 * (between worker threads) and the simulated network (in tests) implement it, so Remoting and
 * everything above run unchanged on each.
 */
export interface FrameTransport {
  readonly local: SystemAddress
  /**
   * Queues a frame for `to`. Never blocks. Throws a typed error (ERR_TRANSPORT_FULL,
   * ERR_TRANSPORT_CLOSED) when it cannot take the frame; it never drops one silently.
   *
   * `mustTake`: the frame carries death-watch traffic (watch, unwatch, terminated). Take it past
   * your buffering bounds, in order with the other frames (up to a second, hard bound): refusing it
   * for lack of room would leave a watcher waiting forever. It can still fail when the peer is down,
   * the transport closed, or that hard bound is reached.
   */
  send(to: SystemAddress, frame: Uint8Array, mustTake?: boolean): void
  /**
   * Optional: whether `send(to, …)` would be refused for lack of room right now. Remoting asks on
   * the first envelope for a peer in a turn, so a tell throws at the call instead of becoming a
   * dead letter at flush time.
   */
  isFull?(to: SystemAddress): boolean
  /** Optional: the error a send to `to` refused for lack of room would throw now (default ERR_TRANSPORT_FULL). */
  fullError?(to: SystemAddress): Error | undefined
  /**
   * Optional, with `isFull`: registers who hears that room may have freed toward `to` (null: toward
   * any peer), after acks, credit, a drained outbox, or a close (then sends fail with the reason).
   * Remoting wakes the offers waiting for that peer (`ActorSystem.remoteRoom`), which ask `isFull`
   * again: a signal with no room behind it costs a check, a missing one leaves offers to time out.
   */
  onRoom?(handler: (to: SystemAddress | null) => void): void
  /**
   * Registers the receiver of every inbound frame. A transport with credit-based flow control (NATS)
   * passes `credited` = true: the handler may then return `true` to say it *holds* the frame (a target
   * mailbox is congested) and call `released()` once it has taken it, in the order held; until then
   * the frame's bytes grant its sender no new credit. Other transports ignore the return value.
   */
  onFrame(handler: (frame: Uint8Array, credited?: boolean) => unknown): void
  /** Optional, with credited frames: the oldest frame the handler held has gone into mailboxes. */
  released?(): void
  /**
   * Optional: registers who gets frames back that were taken by `send` but will never be delivered
   * (their peer was declared down, an outage outlasted its bound, the transport closed). The frame
   * is one this side encoded; Remoting makes dead letters and failed asks of its envelopes.
   */
  onUndelivered?(handler: (to: SystemAddress, frame: Uint8Array, error: Error) => void): void
  /**
   * Optional: one of this node's own shards died. A transport to other nodes tells its peers, who
   * cannot see a thread die while the node lives, so their watchers and asks hear shard-down.
   */
  localShardDown?(shard: number): void
  /** Optional: that shard runs again (restarted); peers may send to it again. */
  localShardUp?(shard: number): void
  /**
   * Optional: this node is shutting down. A transport to other nodes tells its peers, who then send
   * it no new work (ERR_PEER_LEAVING) but still its replies.
   */
  announceLeaving?(): void
  /**
   * Registers who hears that a peer (a node, or one shard when `shard` is set) is gone. `cause`,
   * when given, is what asks in flight to it fail with (instead of ERR_NODE_DOWN / ERR_SHARD_DOWN):
   * a quarantined node fails them with ERR_QUARANTINED, since their outcome is unknown.
   */
  onPeerDown(handler: (node: string, shard: number | null, cause?: Error) => void): void
  close(): Promise<void>
}
