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
  /** Registers the receiver of every inbound frame. */
  onFrame(handler: (frame: Uint8Array) => void): void
  /**
   * Optional: one of this node's own shards died. A transport to other nodes tells its peers, who
   * cannot see a thread die while the node lives, so their watchers and asks hear shard-down.
   */
  localShardDown?(shard: number): void
  /** Optional: that shard runs again (restarted); peers may send to it again. */
  localShardUp?(shard: number): void
  /**
   * Optional: this node is shutting down. A transport to other nodes tells its peers to route no new
   * work here (they fail new sends with a retriable error) while what is in flight still arrives.
   */
  announceLeaving?(): void
  /** Registers who hears that a peer (a node, or one shard when `shard` is set) is gone. */
  onPeerDown(handler: (node: string, shard: number | null) => void): void
  close(): Promise<void>
}
