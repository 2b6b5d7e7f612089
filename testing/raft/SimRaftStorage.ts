import type { Clock } from '../../runtime/index.ts'
import {
  decodeConfig,
  encodeConfig,
  RaftStorageClosedError,
  RaftStorageCorruptError,
  type EntryType,
  type HardState,
  type LogEntry,
  type PersistBatch,
  type RaftDurableState,
  type RaftStorage,
  type Snapshot,
} from '../../cluster/raft/index.ts'
import type { SimDisk } from '../SimDisk.ts'
import { crc32 } from './crc32.ts'

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
const REC_HARD = 1
const REC_ENTRIES = 2
const REC_COMPACT = 3
const TYPES: readonly EntryType[] = ['command', 'noop', 'config']
const enc = new TextEncoder()
const dec = new TextDecoder()

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
      state.entries = state.entries.filter((e) => e.index > base)
      if (state.entries.length > 0 && (state.entries[0] as LogEntry).index !== base + 1) state.entries = []
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

function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, payload.length, true)
  view.setUint32(4, crc32(payload), true)
  out.set(payload, 8)
  return out
}

class Out {
  private chunks: number[] = []
  parts: Uint8Array[] = []
  u8(v: number): void {
    this.chunks.push(v)
  }
  f64(v: number): void {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, v, true)
    this.flush()
    this.parts.push(b)
  }
  bytes(b: Uint8Array): void {
    const len = new Uint8Array(4)
    new DataView(len.buffer).setUint32(0, b.length, true)
    this.flush()
    this.parts.push(len, b)
  }
  private flush(): void {
    if (this.chunks.length > 0) this.parts.push(Uint8Array.from(this.chunks))
    this.chunks = []
  }
  finish(): Uint8Array {
    this.flush()
    let n = 0
    for (const p of this.parts) n += p.length
    const out = new Uint8Array(n)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}

class In {
  pos = 0
  private readonly view: DataView
  private readonly bytesRef: Uint8Array
  constructor(bytes: Uint8Array) {
    this.bytesRef = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  u8(): number {
    return this.bytesRef[this.pos++] as number
  }
  f64(): number {
    const v = this.view.getFloat64(this.pos, true)
    this.pos += 8
    return v
  }
  bytes(): Uint8Array {
    const n = this.view.getUint32(this.pos, true)
    this.pos += 4
    const b = this.bytesRef.slice(this.pos, this.pos + n)
    this.pos += n
    return b
  }
}

function hardRecord(h: HardState): Uint8Array {
  const o = new Out()
  o.u8(REC_HARD)
  o.f64(h.term)
  o.u8(h.votedFor === null ? 0 : 1)
  o.bytes(enc.encode(h.votedFor ?? ''))
  return o.finish()
}

function entriesRecord(entries: readonly LogEntry[]): Uint8Array {
  const o = new Out()
  o.u8(REC_ENTRIES)
  o.f64(entries.length)
  for (const e of entries) {
    o.f64(e.index)
    o.f64(e.term)
    o.u8(TYPES.indexOf(e.type))
    o.bytes(e.data)
  }
  return o.finish()
}

function compactRecord(through: number): Uint8Array {
  const o = new Out()
  o.u8(REC_COMPACT)
  o.f64(through)
  return o.finish()
}

function applyRecord(state: { hardState: HardState; entries: LogEntry[] }, payload: Uint8Array, at: number): void {
  const r = new In(payload)
  const type = r.u8()
  if (type === REC_HARD) {
    const term = r.f64()
    const has = r.u8() === 1
    const vote = dec.decode(r.bytes())
    state.hardState = { term, votedFor: has ? vote : null }
  } else if (type === REC_ENTRIES) {
    const n = r.f64()
    const batch: LogEntry[] = []
    for (let i = 0; i < n; i++) {
      const index = r.f64()
      const term = r.f64()
      const t = TYPES[r.u8()]
      if (t === undefined) throw new RaftStorageCorruptError(`raft log record at byte ${at}: unknown entry type`)
      batch.push({ index, term, type: t, data: r.bytes() })
    }
    const first = batch[0]
    if (first === undefined) return
    const last = state.entries[state.entries.length - 1]
    if (last !== undefined && first.index > last.index + 1) throw new RaftStorageCorruptError(`raft log record at byte ${at}: gap before index ${first.index}`)
    state.entries = state.entries.filter((e) => e.index < first.index).concat(batch)
  } else if (type === REC_COMPACT) {
    const through = r.f64()
    state.entries = state.entries.filter((e) => e.index > through)
  } else throw new RaftStorageCorruptError(`raft log record at byte ${at}: unknown record type ${type}`)
}

function snapshotBytes(s: Snapshot): Uint8Array {
  const o = new Out()
  o.f64(s.index)
  o.f64(s.term)
  o.bytes(encodeConfig(s.config))
  o.bytes(s.data)
  return frame(o.finish())
}

function readSnapshot(bytes: Uint8Array): Snapshot {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.length < 8) throw new RaftStorageCorruptError('raft snapshot file is truncated')
  const len = view.getUint32(0, true)
  if (8 + len !== bytes.length || crc32(bytes, 8) !== view.getUint32(4, true)) throw new RaftStorageCorruptError('raft snapshot file fails its CRC')
  const r = new In(bytes.subarray(8))
  const index = r.f64()
  const term = r.f64()
  const config = decodeConfig(r.bytes())
  return { index, term, config, data: r.bytes() }
}
