/**
 * The durable RaftStorage on the host's files (issue 19): a segmented append-only log with a
 * CRC-32C per write unit, hard state recorded in the log itself, and snapshots replaced by atomic
 * rename. Why a log file and not an embedded store (lmdb was measured against it): docs/raft-storage.md.
 *
 * Layout of the data directory:
 *   LOCK                      owner pid and host (DirLock)
 *   0000000000000001.log ...  segments: header, then units (storage/codec.ts)
 *   snapshot                  the latest snapshot (snapshot.tmp while one is being written)
 *
 * - Group commit: `persist` calls that arrive while a write + fsync is in flight are queued and go
 *   out together as one unit under the next fsync, in call order. An idle storage writes at once.
 * - Hard state travels as a record in the same unit as the entries, so both share one fsync. Each
 *   new segment starts with a unit holding the current hard state, so removing old segments never
 *   loses it.
 * - A follower's suffix replacement is an append: a record whose index is at or below the last one
 *   replaces the suffix on replay. Nothing is overwritten or truncated in place, so a crash midway
 *   cannot leave a half-removed suffix, let alone bring removed entries back.
 * - Compaction deletes whole segments, oldest first, whose entries all lie at or below the
 *   snapshot; the active segment always stays.
 * - Installing a leader's snapshot (Raft §7): when the stored log holds its (index, term), the
 *   suffix stays; otherwise, after the snapshot's rename, an anchor record (a no-op entry at the
 *   snapshot's index and term) is appended, which on replay discards the whole older log. A crash
 *   between the two is caught at load: the stored entry at the snapshot's index has another term.
 */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import type { HardState, LogEntry, PersistBatch, RaftDurableState, RaftStorage, Snapshot } from './RaftStorage.ts'
import { RaftStorageClosedError, RaftStorageCorruptError, RaftStorageFailedError, RaftStorageInvalidError } from './errors.ts'
import { decodeSnapshot, encodeSegmentHeader, encodeSnapshot, UnitWriter } from './storage/codec.ts'
import { DirLock } from './storage/DirLock.ts'
import { TermRuns } from './storage/TermRuns.ts'
import { LogReplay, scanSegment } from './storage/recovery.ts'
import { appendDurably, CREATE_SEGMENT, listSegments, OPEN_ACTIVE, segmentName, syncDir, writeAtomically, writeFully } from './storage/SegmentFiles.ts'
import { batchBytes, checkBatch, checkSnapshot, MAX_BATCH_BYTES } from './storage/validate.ts'

export interface FileRaftStorageOptions {
  /** The data directory (created if missing). One storage per directory, enforced by a lock file. */
  readonly dir: string
  /** A segment is sealed and a new one started once it reaches this size. Default 64 MiB. */
  readonly segmentBytes?: number
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
const SNAPSHOT_FILE = 'snapshot'

interface Segment {
  readonly seq: number
  maxIndex: number
  size: number
}

interface Pending {
  readonly batch: PersistBatch
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

export class FileRaftStorage implements RaftStorage {
  private readonly dir: string
  private readonly segmentBytes: number
  private lock: DirLock | null = null
  private state: 'new' | 'loading' | 'open' | 'closed' = 'new'
  private failure: RaftStorageFailedError | null = null
  private segments: Segment[] = []
  private active: fs.FileHandle | null = null
  /** The hard state of the last unit written: what a new segment starts with. */
  private durableHardState: HardState = { term: 0, votedFor: null }
  /** The last index once every accepted `persist` is applied (checked against at call time). */
  private lastIndex = 0
  private snapshotIndex = 0
  private loading: Promise<RaftDurableState> | null = null
  private pending: Pending[] = []
  private flushing: Promise<void> | null = null
  /** saveSnapshot and compact run one at a time, in call order. */
  private fileOps: Promise<unknown> = Promise.resolve()
  /** The stored term of every index (as of every accepted call): installSnapshot's match test. */
  private readonly terms = new TermRuns()
  /** Set while installSnapshot runs: persists called meanwhile are queued after its anchor record. */
  private barrier: Promise<void> | null = null

  constructor(options: FileRaftStorageOptions) {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1024) throw new RaftStorageInvalidError(`segmentBytes must be an integer ≥ 1024, got ${segmentBytes}`)
    this.dir = options.dir
    this.segmentBytes = segmentBytes
  }

  load(): Promise<RaftDurableState> {
    if (this.state !== 'new') {
      return Promise.reject(this.state === 'closed' ? new RaftStorageClosedError('storage is closed') : new RaftStorageInvalidError('load is called once, before anything else'))
    }
    this.state = 'loading'
    this.loading = this.loadOnce()
    return this.loading
  }

  private async loadOnce(): Promise<RaftDurableState> {
    try {
      await fs.mkdir(this.dir, { recursive: true })
      this.lock = await DirLock.acquire(this.dir)
    } catch (error) {
      // Nothing was opened: the same object may try again (the lock's owner may go away).
      if ((this.state as string) !== 'closed') this.state = 'new'
      throw error
    }
    try {
      const result = await this.recover()
      // close() may have been called while recovering: it wins.
      if ((this.state as string) === 'closed') throw new RaftStorageClosedError('storage was closed while loading')
      this.state = 'open'
      return result
    } catch (error) {
      await this.releaseFiles()
      this.state = 'closed'
      throw error
    }
  }

  persist(batch: PersistBatch): Promise<void> {
    const refused = this.refusal()
    if (refused !== null) return Promise.reject(refused)
    try {
      this.lastIndex = checkBatch(batch, this.lastIndex, this.snapshotIndex)
    } catch (error) {
      return Promise.reject(error)
    }
    const added = batch.entries
    if (added !== undefined && added.length > 0) this.terms.append((added[0] as LogEntry).index, added.map((e) => e.term))
    if (this.barrier !== null) return this.barrier.then(() => this.enqueue(batch))
    return this.enqueue(batch)
  }

  private enqueue(batch: PersistBatch): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject })
      if (this.flushing === null) this.flushing = this.flushLoop()
    })
  }

  installSnapshot(snapshot: Snapshot): Promise<void> {
    const refused = this.refusal()
    if (refused !== null) return Promise.reject(refused)
    try {
      checkSnapshot(snapshot, this.snapshotIndex)
    } catch (error) {
      return Promise.reject(error)
    }
    // Decided at call time, against every persist accepted before: later calls are checked against the result.
    const keeps = this.terms.termAt(snapshot.index) === snapshot.term
    this.snapshotIndex = snapshot.index
    if (!keeps) {
      this.lastIndex = snapshot.index
      this.terms.reset(snapshot.index, snapshot.term)
    }
    const run = this.serially(async () => {
      await this.flushing
      await writeAtomically(this.dir, SNAPSHOT_FILE, encodeSnapshot(snapshot))
      if (!keeps) await this.enqueue({ entries: [anchorEntry(snapshot)] })
    })
    const barrier = run.then(
      () => undefined,
      () => undefined,
    )
    this.barrier = barrier
    void barrier.then(() => {
      if (this.barrier === barrier) this.barrier = null
    })
    return run
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    const refused = this.refusal()
    if (refused !== null) return Promise.reject(refused)
    return this.serially(async () => {
      checkSnapshot(snapshot, this.snapshotIndex)
      await writeAtomically(this.dir, SNAPSHOT_FILE, encodeSnapshot(snapshot))
      this.snapshotIndex = snapshot.index
    })
  }

  compact(throughIndex: number): Promise<void> {
    const refused = this.refusal()
    if (refused !== null) return Promise.reject(refused)
    return this.serially(async () => {
      if (!Number.isSafeInteger(throughIndex) || throughIndex < 0) throw new RaftStorageInvalidError(`compact: bad index ${throughIndex}`)
      if (throughIndex > this.snapshotIndex) throw new RaftStorageInvalidError(`compact through ${throughIndex}: the snapshot only covers ${this.snapshotIndex}`)
      let removed = 0
      // Oldest first, never the active (last) segment, so what remains is always a suffix.
      while (removed < this.segments.length - 1 && (this.segments[removed] as Segment).maxIndex <= throughIndex) removed++
      const doomed = this.segments.slice(0, removed)
      for (const segment of doomed) {
        await fs.unlink(join(this.dir, segmentName(segment.seq)))
        this.segments.shift()
      }
      if (doomed.length > 0) await syncDir(this.dir)
    })
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return
    const loading = this.state === 'loading' ? this.loading : null
    this.state = 'closed'
    // A load in progress finishes first (it then rejects, and releases the files itself).
    if (loading !== null) {
      await loading.catch(() => undefined)
      return
    }
    // Flush what was accepted, then release.
    await this.flushing
    await this.fileOps.catch(() => undefined)
    await this.releaseFiles()
  }

  // ------------------------------------------------------------------ internals

  private refusal(): Error | null {
    if (this.state === 'closed') return new RaftStorageClosedError('storage is closed')
    if (this.state !== 'open') return new RaftStorageInvalidError('call load() first')
    return this.failure
  }

  /**
   * Runs snapshot and compaction steps one at a time. An I/O error there leaves the directory in a
   * state this object no longer knows (a rename or unlink may or may not be durable), so, as for the
   * log, the storage then refuses further calls with ERR_RAFT_STORAGE_FAILED; reopen to recover.
   */
  private serially<T>(step: () => Promise<T>): Promise<T> {
    const op = async (): Promise<T> => {
      const refused = this.failure
      if (refused !== null) throw refused
      try {
        return await step()
      } catch (error) {
        if (error instanceof RaftStorageInvalidError) throw error
        this.failure ??= new RaftStorageFailedError(`snapshot or compaction I/O in ${this.dir} failed; the storage refuses further calls`, { cause: error })
        throw this.failure
      }
    }
    const run = this.fileOps.then(op, op)
    this.fileOps = run.catch(() => undefined)
    return run
  }

  private async recover(): Promise<RaftDurableState> {
    await fs.rm(join(this.dir, `${SNAPSHOT_FILE}.tmp`), { force: true })
    let snapshot: Snapshot | null = null
    try {
      snapshot = decodeSnapshot(await fs.readFile(join(this.dir, SNAPSHOT_FILE)))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    this.snapshotIndex = snapshot?.index ?? 0
    const replay = new LogReplay(this.snapshotIndex)
    const seqs = await listSegments(this.dir)
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i] as number
      if (i > 0 && seq !== (seqs[i - 1] as number) + 1) throw new RaftStorageCorruptError(`segment ${segmentName(seqs[i - 1] as number)} is followed by ${segmentName(seq)}`)
      const isLast = i === seqs.length - 1
      const path = join(this.dir, segmentName(seq))
      const scan = scanSegment(await fs.readFile(path), seq, isLast, segmentName(seq), replay)
      if (scan.emptyTorn) {
        await fs.unlink(path)
        await syncDir(this.dir)
        continue
      }
      if (scan.torn) {
        // Cut the torn tail off for good, so new units never follow garbage.
        const handle = await fs.open(path, 'r+')
        try {
          await handle.truncate(scan.validEnd)
          await handle.sync()
        } finally {
          await handle.close()
        }
      }
      this.segments.push({ seq, maxIndex: scan.maxIndex, size: scan.validEnd })
    }
    const dropped = snapshot !== null && replay.finish(snapshot.term)
    this.durableHardState = replay.hardStateValue
    this.lastIndex = replay.lastIndex()
    this.terms.reset(this.snapshotIndex, snapshot?.term ?? 0)
    if (replay.entries.length > 0) this.terms.append((replay.entries[0] as LogEntry).index, replay.entries.map((e) => e.term))
    const last = this.segments[this.segments.length - 1]
    if (last === undefined) await this.startSegment(1)
    else this.active = await fs.open(join(this.dir, segmentName(last.seq)), OPEN_ACTIVE)
    // A stale suffix was dropped: record the anchor now, so that entries appended after it replay as continuing the snapshot.
    if (dropped && snapshot !== null) await this.writeGroup([{ batch: { entries: [anchorEntry(snapshot)] }, resolve: () => {}, reject: () => {} }])
    return { hardState: replay.hardStateValue, snapshot, entries: replay.entries }
  }

  /** Creates segment `seq` holding its header and the current hard state, durably, and makes it active. */
  private async startSegment(seq: number): Promise<void> {
    const unit = new UnitWriter()
    unit.addHardState(this.durableHardState)
    const header = encodeSegmentHeader(seq)
    const first = unit.take()
    const bytes = new Uint8Array(header.length + first.length)
    bytes.set(header, 0)
    bytes.set(first, header.length)
    const handle = await fs.open(join(this.dir, segmentName(seq)), CREATE_SEGMENT)
    try {
      await writeFully(handle, bytes, 0)
      await handle.sync()
      await syncDir(this.dir)
    } catch (error) {
      await handle.close()
      throw error
    }
    const previous = this.active
    this.active = handle
    this.segments.push({ seq, maxIndex: 0, size: bytes.length })
    await previous?.close()
  }

  /** Writes queued batches, one unit and one fsync per round, until none is left. */
  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0) {
      // Everything queued goes out together, up to a bound that keeps one unit far below its size cap.
      let take = 0
      let bytes = 0
      while (take < this.pending.length && (take === 0 || bytes < MAX_BATCH_BYTES)) bytes += batchBytes((this.pending[take++] as Pending).batch)
      const group = this.pending.slice(0, take)
      this.pending = this.pending.slice(take)
      try {
        await this.writeGroup(group)
      } catch (cause) {
        this.failure = new RaftStorageFailedError(`write to ${this.dir} failed; the storage refuses further calls`, { cause })
        for (const item of [...group, ...this.pending]) item.reject(this.failure)
        this.pending = []
        break
      }
      for (const item of group) item.resolve()
    }
    this.flushing = null
  }

  private async writeGroup(group: readonly Pending[]): Promise<void> {
    const unit = new UnitWriter()
    let hardState = this.durableHardState
    let maxIndex = 0
    for (const { batch } of group) {
      if (batch.hardState !== undefined) {
        hardState = batch.hardState
        unit.addHardState(batch.hardState)
      }
      for (const entry of batch.entries ?? []) {
        unit.addEntry(entry)
        if (entry.index > maxIndex) maxIndex = entry.index
      }
    }
    if (unit.isEmpty) return
    let segment = this.segments[this.segments.length - 1] as Segment
    if (segment.size >= this.segmentBytes) {
      // Seal the full segment (its units are all fsynced already) and start the next one.
      await this.startSegment(segment.seq + 1)
      segment = this.segments[this.segments.length - 1] as Segment
    }
    const bytes = unit.take()
    const handle = this.active as fs.FileHandle
    await appendDurably(handle.fd, bytes, segment.size)
    segment.size += bytes.length
    if (maxIndex > segment.maxIndex) segment.maxIndex = maxIndex
    this.durableHardState = hardState
  }

  private async releaseFiles(): Promise<void> {
    const active = this.active
    this.active = null
    await active?.close().catch(() => undefined)
    await this.lock?.release()
    this.lock = null
  }
}

/** The record that marks "the log continues the snapshot from here": a no-op entry at its (index, term), covered by it. */
function anchorEntry(snapshot: Snapshot): LogEntry {
  return { index: snapshot.index, term: snapshot.term, type: 'noop', data: new Uint8Array(0) }
}
