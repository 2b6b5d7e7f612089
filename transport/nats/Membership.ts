/**
 * Who is in the cluster, as one transport sees it. The NATS transport asks its Membership which
 * peers are reachable and learns from it when one is gone; the heartbeat implementation
 * (HeartbeatMembership) is the first, a Raft-backed one replaces it later without touching the
 * transport.
 */
export interface MembershipListener {
  /**
   * `node` is reachable: heard for the first time, heard again after this node's NATS link came
   * back, or heard again after it was declared down (a new incarnation).
   */
  up(node: string): void
  /** `node` (or one shard of it, when `shard` is set) is gone: stopped heartbeating, left, or restarted. */
  down(node: string, shard: number | null): void
  /** Optional: a shard of `node` reported down earlier runs again (restarted). */
  shardUp?(node: string, shard: number): void
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
  /** Nodes currently considered alive (this node excluded). */
  members(): string[]
  /** Leaves (peers hear it at once instead of after a timeout) and stops. Idempotent. */
  stop(): Promise<void>
}
