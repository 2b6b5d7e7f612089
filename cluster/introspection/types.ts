/**
 * The introspection API's JSON shapes: what `/introspect/*`, the dashboard's stream and the
 * `troupe status|tree|actor` commands exchange. Plain data only (they cross a worker thread and HTTP).
 */

export type ActorStatus = 'starting' | 'running' | 'suspended' | 'restarting' | 'stopping' | 'stopped'

export interface FailureRecord {
  readonly name: string
  readonly message: string
  readonly code?: string
  /** The method being handled when it failed (absent for lifecycle hooks). */
  readonly method?: string
  /** How long ago it failed, as of the snapshot (ms; the node's clock is monotonic, not a wall clock). */
  readonly agoMs: number
}

export interface ActorSnapshot {
  readonly path: string
  readonly name: string
  readonly type: string
  readonly shard: number
  readonly status: ActorStatus
  /** User messages waiting. */
  readonly mailbox: number
  readonly stashed: number
  /** Messages handled since counting began (`ShardSnapshot.countingSince`). */
  readonly processed: number
  /** Messages per second over the last second or so. */
  readonly rate: number
  readonly restarts: number
  readonly lastFailure: FailureRecord | null
  /** Number of live children (all of them, even when `children` is cut by the depth limit). */
  readonly childCount: number
  readonly children: readonly ActorSnapshot[]
}

export interface DeadLetterRecord {
  readonly seq: number
  /** How long ago it was recorded, as of the answer (ms). */
  readonly agoMs: number
  readonly shard: number
  readonly target: string
  readonly method: string
  readonly reason: string
  readonly sender?: string
  readonly error?: string
}

export interface ShardHealth {
  readonly shard: number
  /** 'up', or 'down' when a worker shard did not answer (crashed, restarting, or stuck). */
  readonly state: 'up' | 'down'
  readonly actors: number
  /** User messages waiting in every mailbox of the shard. */
  readonly mailboxTotal: number
  readonly deadLetters: number
  /** How long processed messages have been counted (ms): counting starts with the first request after an idle spell. */
  readonly countingForMs: number
}

export interface ShardSnapshot extends ShardHealth {
  /** Top-level actors and their subtrees. */
  readonly tree: readonly ActorSnapshot[]
  /** True when the actor limit cut the tree short. */
  readonly truncated: boolean
}

export interface NodeStatus {
  readonly node: string
  readonly cluster: string
  readonly app: string
  readonly version: string
  readonly pid: number
  readonly uptimeMs: number
  readonly started: boolean
  readonly ready: boolean
  readonly reasons: readonly string[]
  readonly shards: readonly ShardHealth[]
}

/** What a shard is asked over its control channel (and the main thread answers for shard 0). */
export type IntrospectRequest =
  | { readonly kind: 'tree'; readonly maxActors: number }
  | { readonly kind: 'health' }
  | { readonly kind: 'actor'; readonly path: string }
  | { readonly kind: 'dead-letters'; readonly after: number }

export type IntrospectReply =
  | { readonly kind: 'tree'; readonly shard: ShardSnapshot }
  | { readonly kind: 'health'; readonly health: ShardHealth }
  | { readonly kind: 'actor'; readonly actor: ActorSnapshot | null }
  | { readonly kind: 'dead-letters'; readonly letters: readonly DeadLetterRecord[] }
