import type { Clock, Random } from '../../runtime/index.ts'
import type { RaftMessage } from './messages.ts'
import type { HardState, LogEntry, RaftConfiguration, RaftStorage, Snapshot } from './RaftStorage.ts'
import type { RaftTransport } from './RaftTransport.ts'
import type { RaftRole } from './types.ts'

/** What the state machine sees, in log order: a command, or a snapshot that replaces its state. */
export type Applied =
  | { readonly kind: 'command'; readonly index: number; readonly term: number; readonly command: Uint8Array }
  | { readonly kind: 'snapshot'; readonly index: number; readonly term: number; readonly data: Uint8Array }

/** What a RaftNode reports to observers (tests check invariants on these, apart from the implementation). */
export type RaftEvent =
  | { readonly type: 'persist'; readonly node: string; readonly hardState: HardState | null; readonly entries: readonly LogEntry[]; readonly snapshot: Snapshot | null }
  /** A message handed to the transport: only after the persist it depends on completed. */
  | { readonly type: 'send'; readonly node: string; readonly message: RaftMessage }
  | { readonly type: 'role'; readonly node: string; readonly role: RaftRole; readonly term: number; readonly leaderId: string | null }
  | { readonly type: 'apply'; readonly node: string; readonly entry: LogEntry }
  | { readonly type: 'applySnapshot'; readonly node: string; readonly index: number; readonly term: number }
  | { readonly type: 'compact'; readonly node: string; readonly index: number }
  | { readonly type: 'failed'; readonly node: string; readonly error: Error }

export interface RaftNodeState {
  readonly id: string
  readonly term: number
  readonly role: RaftRole
  readonly leaderId: string | null
  readonly commitIndex: number
  readonly lastIndex: number
  readonly appliedIndex: number
  readonly config: RaftConfiguration
}

export interface ProposeResult {
  readonly index: number
  readonly term: number
  /** false: this server is not the leader and took nothing (ask `state().leaderId`). */
  readonly isLeader: boolean
}

export interface RaftNodeOptions {
  readonly id: string
  readonly storage: RaftStorage
  readonly transport: RaftTransport
  readonly clock: Clock
  readonly random: Random
  /** Default 100 ms (fits NATS round trips). */
  readonly heartbeatMs?: number
  /** Election timeout lower bound; each timeout is drawn in [electionMs, 2 × electionMs). Default 1000 ms. */
  readonly electionMs?: number
  /** The logical tick. Default heartbeatMs / 10 (election timeouts then have 10 × electionMs / heartbeatMs distinct values). */
  readonly tickMs?: number
  readonly preVote?: boolean
  readonly checkQuorum?: boolean
  readonly leaseReads?: boolean
  /** A `read()` not confirmed within this time rejects with ERR_RAFT_READ_TIMEOUT. Default 2 × electionMs. */
  readonly readTimeoutMs?: number
  readonly maxInflight?: number
  readonly maxAppendBytes?: number
  readonly snapshotChunkBytes?: number
  /**
   * The bootstrap configuration (voters and learners) in force until a configuration entry or a
   * snapshot says otherwise. It is not written to the log: pass the same value on every start of a
   * founding server. Omit it on a server that waits to be added (it never campaigns meanwhile).
   */
  readonly initialConfig?: RaftConfiguration
  /** The state machine's snapshot hook: called with the applied index when a snapshot is due; returns its state's bytes. */
  readonly snapshot?: (appliedIndex: number) => Uint8Array
  /** Take a snapshot and compact the log once this many entries were applied since the last one. Default 0 (never). */
  readonly snapshotEvery?: number
  readonly observer?: (event: RaftEvent) => void
  /** The state machine: receives every applied command and snapshot in order, from the first (a restart replays from the stored snapshot). */
  readonly onApplied?: (applied: Applied) => void
}
