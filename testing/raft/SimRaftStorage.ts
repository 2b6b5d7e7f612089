import type { Clock } from '../../runtime/index.ts'
import {
  RaftStorageClosedError,
  RaftStorageCorruptError,
  type HardState,
  type LogEntry,
  type PersistBatch,
  type RaftDurableState,
  type RaftStorage,
  type Snapshot,
} from '../../cluster/raft/index.ts'
import type { SimDisk } from '../SimDisk.ts'
import { crc32 } from './crc32.ts'
import { anchorRecord, applyRecord, compactRecord, entriesRecord, frame, hardRecord, readSnapshot, snapshotBytes } from './simRaftRecords.ts'

export interface SimRaftStorageOptions {
  /** Virtual time an fsync takes (the persist resolves after it). Default 1 ms. */
  readonly fsyncMs?: number
  /** Rewrite the log file once it holds this many times the live records' bytes. Default 4. */
  readonly rewriteRatio?: number
}

/** What `load` would return if the process crashed now (everything of every resolved call). */
export interface DurableView {
  readonly hardState: HardState
  readonly snapshot: Snapshot | null
  readonly entries: readonly LogEntry[]
}

const WAL = 'raft.wal'
const SNAP = 'raft.snap'

/**
 * The simulated twin of durable Raft storage, on a node's SimDisk: a write-ahead log of CRC-framed
 * records (hard state, entries that replace the suffix from their first index, compaction marks)
 * and a snapshot file replaced by atomic rename. A crash keeps what was fsynced and maybe a torn
 * tail, which `load` detects and cuts; a bad record before the tail is ERR_RAFT_STORAGE_CORRUPT.
 */
export class SimRaftStorage implements RaftStorage {
  private readonly disk: SimDisk
  private readonly clock: Clock
  private fsyncMs: number
  private readonly rewriteRatio: number
  private closed = false
  /** The state as written (what reads see). */
  private current: { hardState: HardState; snapshot: Snapshot | null; entries: LogEntry[] } = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] }
  /** The state of every resolved call (what a crash keeps at least). */
  private durable: DurableView = { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] }
  private liveBytes = 0
  /** What the last `load` returned (tests compare it with what was fsynced before the crash). */
  loaded: RaftDurableState | null = null

  constructor(disk: SimDisk, clock: Clock, options: SimRaftStorageOptions = {}) {
    this.disk = disk
    this.clock = clock
    this.fsyncMs = options.fsyncMs ?? 1
    this.rewriteRatio = options.rewriteRatio ?? 4
  }

  /** Changes the fsync latency of later calls (a slow disk on one node). */
  setFsyncMs(ms: number): void {
    this.fsyncMs = ms
  }

  /** What is fsynced (read-only; tests check "acknowledged ⇒ durable" against it). */
  synced(): DurableView {
    return this.durable
  }

  load(): Promise<RaftDurableState> {
    try {
      this.checkOpen()
      const snapshot = this.disk.exists(SNAP) ? readSnapshot(this.disk.read(SNAP)) : null
      const state = { hardState: { term: 0, votedFor: null } as HardState, snapshot, entries: [] as LogEntry[] }
      if (this.disk.exists(WAL)) this.replay(state)
      const base = snapshot?.index ?? 0
      // Raft §7: a stored entry at the snapshot's index with another term means the suffix is another history.
      const at = state.entries.find((e) => e.index === base)
      const stale = snapshot !== null && at !== undefined && at.term !== snapshot.term
      state.entries = stale ? [] : state.entries.filter((e) => e.index > base)
      if (state.entries.length > 0 && (state.entries[0] as LogEntry).index !== base + 1) state.entries = []
      if (stale && snapshot !== null) {
        // Record the anchor now, so that entries appended after it replay as continuing the snapshot.
        this.disk.append(WAL, frame(anchorRecord(snapshot)))
        this.disk.fsync(WAL)
      }
      this.current = { ...state, entries: state.entries.slice() }
      this.durable = { hardState: state.hardState, snapshot, entries: state.entries.slice() }
      this.loaded = state
      return Promise.resolve(state)
    } catch (error) {
      return Promise.reject(error as Error)
    }
  }

  persist(batch: PersistBatch): Promise<void> {
    if (this.closed) return Promise.reject(new RaftStorageClosedError('storage is closed'))
    const parts: Uint8Array[] = []
    if (batch.hardState !== undefined) parts.push(frame(hardRecord(batch.hardState)))
    if (batch.entries !== undefined && batch.entries.length > 0) parts.push(frame(entriesRecord(batch.entries)))
    const created = !this.disk.exists(WAL)
    for (const p of parts) {
      this.disk.append(WAL, p)
      this.liveBytes += p.length
    }
    const next = applyBatch(this.current, batch)
    this.current = next
    return this.sync(() => {
      if (parts.length > 0 || created) this.disk.fsync(WAL)
      if (created) this.disk.syncDir()
      this.durable = { hardState: next.hardState, snapshot: this.durable.snapshot, entries: next.entries.slice() }
    })
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(new RaftStorageClosedError('storage is closed'))
    const tmp = `${SNAP}.tmp`
    if (this.disk.exists(tmp)) this.disk.unlink(tmp)
    this.disk.write(tmp, 0, snapshotBytes(snapshot))
    this.current = { ...this.current, snapshot }
    return this.sync(() => {
      this.disk.fsync(tmp)
      this.disk.rename(tmp, SNAP)
      this.disk.syncDir()
      this.durable = { ...this.durable, snapshot }
    })
  }

  installSnapshot(snapshot: Snapshot): Promise<void> {
    if (this.closed) return Promise.reject(new RaftStorageClosedError('storage is closed'))
    const cur = this.current
    const keeps = (cur.snapshot?.index === snapshot.index && cur.snapshot.term === snapshot.term) || cur.entries.some((e) => e.index === snapshot.index && e.term === snapshot.term)
    const tmp = `${SNAP}.tmp`
    if (this.disk.exists(tmp)) this.disk.unlink(tmp)
    this.disk.write(tmp, 0, snapshotBytes(snapshot))
    this.current = { ...cur, snapshot, entries: keeps ? cur.entries : [] }
    return this.sync(() => {
      // The snapshot is durable before the anchor that discards the old log (a crash between: load drops the stale suffix).
      this.disk.fsync(tmp)
      this.disk.rename(tmp, SNAP)
      this.disk.syncDir()
      if (!keeps) {
        this.disk.append(WAL, frame(anchorRecord(snapshot)))
        this.disk.fsync(WAL)
      }
      this.durable = { ...this.durable, snapshot, entries: keeps ? this.durable.entries.filter((e) => e.index > snapshot.index) : [] }
    })
  }

  compact(throughIndex: number): Promise<void> {
    if (this.closed) return Promise.reject(new RaftStorageClosedError('storage is closed'))
    const snap = this.current.snapshot
    if (snap === null || snap.index < throughIndex) return Promise.reject(new RaftStorageCorruptError(`compact(${throughIndex}): no snapshot covers it`))
    const rec = frame(compactRecord(throughIndex))
    this.disk.append(WAL, rec)
    this.current = { ...this.current, entries: this.current.entries.filter((e) => e.index > throughIndex) }
    const entries = this.current.entries
    return this.sync(() => {
      this.disk.fsync(WAL)
      this.durable = { ...this.durable, entries: this.durable.entries.filter((e) => e.index > throughIndex) }
      if (this.disk.size(WAL) > this.rewriteRatio * Math.max(4096, this.liveSize(entries))) this.rewrite()
    })
  }

  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }

  // ------------------------------------------------------------------ internals

  private checkOpen(): void {
    if (this.closed) throw new RaftStorageClosedError('storage is closed')
  }

  /** Runs `fsync` after the fsync latency, then resolves (a crash before then drops the timer: never resolved). */
  private sync(fsync: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.clock.setTimer(this.fsyncMs, () => {
        try {
          fsync()
          resolve()
        } catch (error) {
          reject(error as Error)
        }
      })
    })
  }

  private liveSize(entries: readonly LogEntry[]): number {
    let n = 64
    for (const e of entries) n += e.data.length + 32
    return n
  }

  /** Writes the live state to a fresh file and renames it over the log (atomic). */
  private rewrite(): void {
    const tmp = `${WAL}.tmp`
    if (this.disk.exists(tmp)) this.disk.unlink(tmp)
    const { hardState, entries } = this.current
    this.disk.write(tmp, 0, frame(hardRecord(hardState)))
    if (entries.length > 0) this.disk.append(tmp, frame(entriesRecord(entries)))
    this.disk.fsync(tmp)
    this.disk.rename(tmp, WAL)
    this.disk.syncDir()
    this.liveBytes = this.disk.size(WAL)
  }

  private replay(state: { hardState: HardState; entries: LogEntry[] }): void {
    const bytes = this.disk.read(WAL)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    let pos = 0
    while (pos < bytes.length) {
      if (bytes.length - pos < 8) break
      const len = view.getUint32(pos, true)
      const crc = view.getUint32(pos + 4, true)
      if (pos + 8 + len > bytes.length) break
      if (crc32(bytes, pos + 8, pos + 8 + len) !== crc) {
        if (pos + 8 + len === bytes.length) break
        throw new RaftStorageCorruptError(`raft log record at byte ${pos} fails its CRC and is not the tail`)
      }
      applyRecord(state, bytes.subarray(pos + 8, pos + 8 + len), pos)
      pos += 8 + len
    }
    if (pos < bytes.length) {
      // A torn tail: cut it, so the next append does not land after garbage.
      this.disk.truncate(WAL, pos)
      this.disk.fsync(WAL)
    }
    this.liveBytes = pos
  }
}

function applyBatch(state: { hardState: HardState; snapshot: Snapshot | null; entries: LogEntry[] }, batch: PersistBatch) {
  let entries = state.entries
  if (batch.entries !== undefined && batch.entries.length > 0) {
    const first = (batch.entries[0] as LogEntry).index
    entries = entries.filter((e) => e.index < first).concat(batch.entries)
  }
  return { hardState: batch.hardState ?? state.hardState, snapshot: state.snapshot, entries }
}
