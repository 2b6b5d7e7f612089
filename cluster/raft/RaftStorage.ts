/**
 * The port between the Raft core's driver and durable storage. Two implementations stand behind it:
 * a durable one on the host's files (production) and a twin on the simulator's `SimDisk` (tests), so
 * the same driver and core run in both. Written before either implementation so that both are built
 * against one contract.
 *
 * Contract (what the driver relies on; both implementations pass one conformance suite):
 * - `persist` resolves only after everything it was given is durable (fsynced). Calls are applied in
 *   the order they are made; the driver may issue the next one before the previous resolves.
 * - Appended entries whose index is ≤ the last stored index replace the stored suffix from that index
 *   on (a follower truncating a conflicting tail). Indexes within one call are consecutive.
 * - After a crash, `load` returns a prefix-consistent state: the hard state and entries of every
 *   resolved `persist`, possibly more (a later unresolved write that happened to reach the disk), never
 *   a torn or corrupt record (a torn tail is detected and cut off; corruption before the tail is an
 *   error with code ERR_RAFT_STORAGE_CORRUPT, never silently skipped).
 * - `saveSnapshot` is atomic (write a temporary file, fsync, rename, fsync the directory): after a crash
 *   either the old or the new snapshot is loaded. It does not drop log entries; `compact` does.
 * - `installSnapshot` (a snapshot received from the leader) follows the Raft paper's §7 rule on the
 *   stored log: when the stored log holds an entry with the snapshot's (index, term), the entries
 *   after it are kept; otherwise the whole log is discarded and the next entry is index + 1. Once it
 *   resolves, `load` returns the snapshot and only entries that continue it. A crash before it
 *   resolves loads the old state or the new one, never the new snapshot with a suffix that does
 *   not continue it. The caller issues no other call until it resolves.
 */

/** Durable per-server state (Raft Figure 2: currentTerm, votedFor). The commit index is not durable. */
export interface HardState {
  readonly term: number
  /** The server this one voted for in `term`, or null. */
  readonly votedFor: string | null
}

/** What a log entry carries: a state-machine command, the leader's no-op on election, or a configuration. */
export type EntryType = 'command' | 'noop' | 'config'

export interface LogEntry {
  readonly index: number
  readonly term: number
  readonly type: EntryType
  /** The command's bytes (the driver encodes commands); for `config`, an encoded RaftConfiguration. */
  readonly data: Uint8Array
}

/** Which servers vote and which only replicate (learners catching up before promotion). */
export interface RaftConfiguration {
  readonly voters: readonly string[]
  readonly learners: readonly string[]
}

export interface Snapshot {
  /** The last entry the snapshot covers, and its term. */
  readonly index: number
  readonly term: number
  /** The configuration in force at `index`. */
  readonly config: RaftConfiguration
  /** The state machine's bytes. */
  readonly data: Uint8Array
}

/** Everything `load` recovers. `entries` start right after the snapshot (or at index 1 without one). */
export interface RaftDurableState {
  readonly hardState: HardState
  readonly snapshot: Snapshot | null
  readonly entries: readonly LogEntry[]
}

export interface PersistBatch {
  readonly hardState?: HardState
  readonly entries?: readonly LogEntry[]
}

export interface RaftStorage {
  /** Reads the durable state. Called once, before any other method. */
  load(): Promise<RaftDurableState>
  /** Makes the batch durable (see the contract above). Hard state and entries share one fsync. */
  persist(batch: PersistBatch): Promise<void>
  /** Atomically replaces the stored snapshot (local compaction: the log holds the snapshot's last entry). */
  saveSnapshot(snapshot: Snapshot): Promise<void>
  /** Installs a snapshot from the leader: keeps the stored suffix after it only if it continues it (see the contract). */
  installSnapshot(snapshot: Snapshot): Promise<void>
  /** Drops log entries with index ≤ `throughIndex` (a snapshot must already cover them). */
  compact(throughIndex: number): Promise<void>
  /** Flushes and releases files; later calls reject with ERR_RAFT_STORAGE_CLOSED. */
  close(): Promise<void>
}
