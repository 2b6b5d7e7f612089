import type { Random } from '../../runtime/index.ts'
import type { RaftMessage } from './messages.ts'
import type { HardState, LogEntry, RaftConfiguration, Snapshot } from './RaftStorage.ts'

export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader'

export interface RaftCoreOptions {
  readonly id: string
  /** Election timeout in ticks: a follower campaigns after a random timeout in [electionTicks, 2 × electionTicks). */
  readonly electionTicks: number
  /** A leader sends heartbeats every `heartbeatTicks`. Must be below electionTicks. */
  readonly heartbeatTicks: number
  /** The only randomness the core uses (election timeouts). */
  readonly random: Random
  /** Ask "would you vote for me?" before raising the term (§9.6 of Ongaro's thesis). Default true. */
  readonly preVote?: boolean
  /** A leader steps down when it has not heard from a quorum within an election timeout; voters in touch with a leader ignore votes. Default true. */
  readonly checkQuorum?: boolean
  /** Most unacknowledged appends per follower in replicate state. Default 256. */
  readonly maxInflight?: number
  /** Soft cap on entry bytes per append. Default 1 MiB. */
  readonly maxAppendBytes?: number
  /** Snapshot chunk size for InstallSnapshot. Default 1 MiB. */
  readonly snapshotChunkBytes?: number
  /**
   * Lease reads: the leader answers a read at once while CheckQuorum holds its lease, without a
   * heartbeat round. Correct only if clocks run at about the same rate on every server (a bounded
   * drift) — see docs/raft.md. Needs checkQuorum. Default false (ReadIndex with a quorum round).
   */
  readonly leaseReads?: boolean
  /** The configuration before any is in the log or a snapshot (bootstrap). Default none: wait to be added. */
  readonly initialConfig?: RaftConfiguration
}

/** A linearizable read confirmed by the leader: safe once `index` is applied. */
export interface ReadState {
  readonly id: number
  readonly index: number
}

export type CoreNotice =
  | { readonly type: 'transferAborted'; readonly to: string }
  | { readonly type: 'readsAborted'; readonly ids: readonly number[] }

export interface SoftState {
  readonly role: RaftRole
  readonly leaderId: string | null
  readonly term: number
}

/**
 * What the driver must do, in this order: persist `snapshot` (if any), then `hardState` and
 * `entries` (fsync), then send `messages`, then apply `snapshot` and `committed` in order, then
 * call `advance`. etcd/raft's Ready. When `sendBeforePersist` is true the messages may go out
 * before (or while) the entries are persisted; the driver then calls `persisted` once they are.
 */
export interface Ready {
  readonly softState: SoftState | null
  readonly hardState: HardState | null
  readonly entries: readonly LogEntry[]
  /** A snapshot received from the leader: save it, then restore the state machine from it. */
  readonly snapshot: Snapshot | null
  readonly messages: readonly RaftMessage[]
  /**
   * The messages depend on nothing this Ready persists (a leader's appends and heartbeats at a term
   * already fsynced), so they may be sent first: replication overlaps the leader's own fsync
   * (Raft thesis §10.2.1). False whenever a term, vote or snapshot is in this Ready.
   */
  readonly sendBeforePersist: boolean
  readonly committed: readonly LogEntry[]
  readonly readStates: readonly ReadState[]
  readonly notices: readonly CoreNotice[]
}

export type ConfigChange =
  | { readonly type: 'addLearner'; readonly id: string }
  | { readonly type: 'promote'; readonly id: string }
  | { readonly type: 'addVoter'; readonly id: string }
  | { readonly type: 'remove'; readonly id: string }
