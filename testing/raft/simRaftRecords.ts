/** The simulated Raft storage's record formats (CRC-framed, little endian): see SimRaftStorage. */
import { decodeConfig, encodeConfig, RaftStorageCorruptError, type EntryType, type HardState, type LogEntry, type Snapshot } from '../../cluster/raft/index.ts'
import { crc32 } from './crc32.ts'

export const REC_HARD = 1
export const REC_ENTRIES = 2
export const REC_COMPACT = 3
/** "The log continues the snapshot at (index, term) from here": written when an installed snapshot discards the log. */
export const REC_ANCHOR = 4
const TYPES: readonly EntryType[] = ['command', 'noop', 'config']
const enc = new TextEncoder()
const dec = new TextDecoder()


export function frame(payload: Uint8Array): Uint8Array {
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

export function hardRecord(h: HardState): Uint8Array {
  const o = new Out()
  o.u8(REC_HARD)
  o.f64(h.term)
  o.u8(h.votedFor === null ? 0 : 1)
  o.bytes(enc.encode(h.votedFor ?? ''))
  return o.finish()
}

export function entriesRecord(entries: readonly LogEntry[]): Uint8Array {
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

export function compactRecord(through: number): Uint8Array {
  const o = new Out()
  o.u8(REC_COMPACT)
  o.f64(through)
  return o.finish()
}

export function anchorRecord(s: Snapshot): Uint8Array {
  const o = new Out()
  o.u8(REC_ANCHOR)
  o.f64(s.index)
  o.f64(s.term)
  return o.finish()
}

export function applyRecord(state: { hardState: HardState; entries: LogEntry[] }, payload: Uint8Array, at: number): void {
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
  } else if (type === REC_ANCHOR) {
    const index = r.f64()
    const term = r.f64()
    state.entries = [{ index, term, type: 'noop', data: new Uint8Array(0) }]
  } else if (type === REC_COMPACT) {
    const through = r.f64()
    state.entries = state.entries.filter((e) => e.index > through)
  } else throw new RaftStorageCorruptError(`raft log record at byte ${at}: unknown record type ${type}`)
}

export function snapshotBytes(s: Snapshot): Uint8Array {
  const o = new Out()
  o.f64(s.index)
  o.f64(s.term)
  o.bytes(encodeConfig(s.config))
  o.bytes(s.data)
  return frame(o.finish())
}

export function readSnapshot(bytes: Uint8Array): Snapshot {
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
