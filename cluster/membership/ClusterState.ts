import type { ApplyResult, ClusterChange, ClusterCommand, Member, MemberInfo, Placement, RegistryEntry } from './types.ts'

/**
 * The port every cluster feature stands on (receptionist, singletons, pub-sub, cluster routers, the
 * node's `/cluster` view): one member's view of the replicated cluster state and its way to change it.
 *
 * Two implementations: `ClusterStateNode` (the built-in Raft log) and a NATS JetStream KV backend for
 * operators who already run a NATS cluster. Both apply the same `ClusterStateMachine` in the same
 * order on every member, so features written against this port behave alike on either.
 *
 * Writes resolve once the command is applied on *this* member (so a read right after sees it);
 * refusals reject with the typed cluster errors (stable `code`s in ClusterStateErrorCodes); no quorum
 * or no answer rejects with ERR_CLUSTER_NO_QUORUM, whose outcome is unknown (every command is
 * idempotent: retrying is safe).
 */
export interface ClusterState {
  /** This member's identity. */
  readonly self: { readonly node: string; readonly incarnation: number }
  /** True once the cluster downed this incarnation: it must restart with a new one. */
  readonly quarantined: boolean

  join(info: Omit<MemberInfo, 'node' | 'incarnation'>): Promise<ApplyResult>
  up(node: string, incarnation: number): Promise<ApplyResult>
  leave(node: string, incarnation: number): Promise<ApplyResult>
  down(node: string, incarnation: number, reason: string): Promise<ApplyResult>
  /** This member's failure detector changed its verdict on `node#incarnation`. */
  reportSuspicion(node: string, incarnation: number, suspected: boolean): Promise<ApplyResult>
  register(key: string, ref: string, unique?: boolean): Promise<ApplyResult>
  registerUnique(key: string, ref: string): Promise<ApplyResult>
  unregister(key: string, ref: string): Promise<ApplyResult>
  actorDied(ref: string): Promise<ApplyResult>
  declareSingleton(name: string, role?: string | null): Promise<ApplyResult>
  write(command: ClusterCommand): Promise<ApplyResult>

  /** Local replica (fast; may lag the leader). */
  lookupCached(key: string): RegistryEntry[]
  /** Linearizable lookup (the backend's read barrier, then the local replica). */
  lookup(key: string): Promise<RegistryEntry[]>
  members(): Member[]
  placement(name: string): Placement | undefined
  /** Every placement, sorted by name. */
  placements(): Placement[]
  /** Calls `listener` with the current listing of `key` now and after every change applied here. */
  subscribe(key: string, listener: (entries: readonly RegistryEntry[]) => void): () => void
  /**
   * Every change applied here, in log order (member status changes, registry keys, placements), and
   * `{ type: 'reset' }` after a snapshot replaced the whole state (listeners re-read what they need).
   */
  onChange(listener: (change: ClusterChange | { readonly type: 'reset' }) => void): () => void
  /** Who this member believes leads the cluster state (a node name), or null. For operators, never for safety. */
  leader(): { readonly node: string; readonly incarnation: number } | null
  /** The state machine's epoch (bumped on every member status change) and the last applied position. */
  position(): { readonly epoch: number; readonly appliedIndex: number; readonly term: number }
  stop(): void
}
