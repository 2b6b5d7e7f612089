/**
 * Who is in the cluster, as one transport sees it. The NATS transport asks its Membership which
 * peers are reachable and learns from it when one is gone; the heartbeat implementation
 * (HeartbeatMembership) is the first, a Raft-backed one replaces it later without touching the
 * transport. The down decision is the Membership's alone: the transport only follows it.
 */
export interface MembershipListener {
  /**
   * `node` is reachable: heard for the first time, heard again after this node's NATS link came
   * back, or heard again after it was declared down (a new incarnation).
   */
  up(node: string): void
  /** `node` (or one shard of it, when `shard` is set) is gone: declared down, left, or restarted. */
  down(node: string, shard: number | null): void
  /** Optional: a shard of `node` reported down earlier runs again (restarted). */
  shardUp?(node: string, shard: number): void
  /** Optional: `node` announced that it is leaving: route no new work to it; its replies still come. */
  leaving?(node: string): void
  /**
   * Optional: THIS node was declared down by `byNode` and quarantined. Its run is out of the cluster
   * for good (it must restart to rejoin): stop all remote traffic and report it.
   */
  quarantined?(byNode: string): void
  /**
   * Optional: a hold asked for by `holding()` is over (this node proved it is present again and
   * was not quarantined meanwhile): frames held both ways may go.
   */
  resumed?(): void
}

export interface Membership {
  /** Starts listening and announcing; resolves once the membership's subscriptions are live on the server. */
  start(listener: MembershipListener): Promise<void>
  /**
   * This node's NATS link went down (`false`) or came back (`true`). While it is down nobody can be
   * judged: a node cut off from NATS would otherwise declare every peer dead.
   */
  linkChanged(connected: boolean): void
  /**
   * Optional: one of this node's shards died (the node lives on). Peers treat that shard as down:
   * watchers of its actors get shard-down, asks to it fail.
   */
  shardDown?(shard: number): void
  /** Optional: that shard runs again (restarted); peers send to it again. */
  shardUp?(shard: number): void
  /**
   * This node is shutting down: peers mark it leaving and route no new work to it (their sends fail
   * with ERR_PEER_LEAVING), while its replies and frames are still accepted. `stop()` (leave) follows.
   */
  announceLeaving(): void
  /**
   * Optional, asked by the transport for every frame in and out: whether frames must be held right
   * now because this node cannot prove it was present (its event loop stalled, or its own link is
   * being checked). Frames that arrived meanwhile may be ones a peer has already given up on; they
   * are delivered only once `listener.resumed()` says this node was not quarantined, and dropped
   * if `listener.quarantined()` says it was.
   */
  holding?(): boolean
  /** Nodes currently considered alive (this node excluded); leaving nodes are not listed. */
  members(): string[]
  /** Leaves (peers hear it at once instead of after a timeout) and stops. Idempotent. */
  stop(): Promise<void>
}
