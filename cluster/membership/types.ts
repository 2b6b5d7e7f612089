/** Member lifecycle (Akka Cluster's): joining → up → leaving → exiting → removed; any live status → down → removed. */
export type MemberStatus = 'joining' | 'up' | 'leaving' | 'exiting' | 'down' | 'removed'

export interface Member {
  /** The node's stable name (its address in the cluster). */
  readonly node: string
  /** Bumped on every restart: a downed incarnation is quarantined and never comes back. */
  readonly incarnation: number
  readonly status: MemberStatus
  readonly roles: readonly string[]
  readonly shards: number
  readonly httpAddress: string
  readonly appVersion: string
  /** Order in which members became up (0 while joining): the lowest live one is the oldest. */
  readonly upNumber: number
}

/** One name in the cluster registry: an actor reference (its path string) owned by a member incarnation. */
export interface RegistryEntry {
  readonly key: string
  readonly ref: string
  readonly node: string
  readonly incarnation: number
}

/** Where a cluster singleton runs. `fencing` orders placements: storage rejects writes with an older one. */
export interface Placement {
  readonly name: string
  readonly role: string | null
  /** null: no eligible member (the singleton does not run anywhere). */
  readonly node: string | null
  readonly incarnation: number
  readonly version: number
  /** Raft term of the entry that made this placement; the fencing token is (term, version). */
  readonly term: number
}

/** The fencing token of a placement, comparable as a pair (term first). */
export interface FencingToken {
  readonly term: number
  readonly version: number
}

export interface MemberInfo {
  readonly node: string
  readonly incarnation: number
  readonly roles: readonly string[]
  readonly shards: number
  readonly httpAddress: string
  readonly appVersion: string
}

/** Commands of the cluster state machine (replicated by Raft's log). */
export type ClusterCommand =
  | ({ readonly type: 'join' } & MemberInfo)
  | { readonly type: 'up'; readonly node: string; readonly incarnation: number }
  | { readonly type: 'leave'; readonly node: string; readonly incarnation: number }
  | { readonly type: 'exit'; readonly node: string; readonly incarnation: number }
  | { readonly type: 'remove'; readonly node: string; readonly incarnation: number }
  | { readonly type: 'down'; readonly node: string; readonly incarnation: number; readonly reason: string }
  /** An observer's failure-detector verdict on a member incarnation (true: suspected, false: reachable again). */
  | { readonly type: 'suspect'; readonly observer: string; readonly observerIncarnation: number; readonly node: string; readonly incarnation: number; readonly suspected: boolean }
  | { readonly type: 'register'; readonly key: string; readonly ref: string; readonly node: string; readonly incarnation: number; readonly unique: boolean }
  | { readonly type: 'unregister'; readonly key: string; readonly ref: string }
  /** An actor terminated: every registry entry of `ref` goes. */
  | { readonly type: 'actorDied'; readonly ref: string }
  /** Declares a singleton (optionally restricted to members with `role`); idempotent. */
  | { readonly type: 'singleton'; readonly name: string; readonly role: string | null }

export type ClusterCommandType = ClusterCommand['type']

/** What applying one command did: the error (if refused) and the changes it caused. */
export interface ApplyResult {
  readonly error: { readonly code: string; readonly message: string } | null
  readonly changes: readonly ClusterChange[]
}

export type ClusterChange =
  | { readonly type: 'member'; readonly member: Member; readonly previous: MemberStatus | null }
  | { readonly type: 'registry'; readonly key: string }
  | { readonly type: 'placement'; readonly placement: Placement }
