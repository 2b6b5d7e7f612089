/**
 * Byte layouts of the durable Raft files. Everything read back is checked before it is trusted:
 * declared lengths against the bytes that remain, checksums, field ranges (GUIDE rule 20).
 *
 * Segment file: a 24-byte header, then write units.
 *   header  = magic "TRPRLOG1" | version u32 | seq u64 | crc32c(previous 20 bytes) u32
 *   unit    = len u32 | crc32c(len bytes) u32 | crc32c(payload) u32 | payload (len bytes)
 *   payload = records, back to back
 *   entry record     = type u8 (1 command, 2 noop, 3 config) | index u64 | term u64 | dataLen u32 | data
 *   hardstate record = 4 u8 | term u64 | votedForLen i32 (-1: null) | votedFor utf-8
 * One unit is what one write + fsync made durable (one or several grouped `persist` calls), so a
 * crash tears at most the last unit of the last segment. The length has its own check so that a
 * flipped bit in it cannot pass for a torn tail and silently cut off synced units behind it.
 *
 * Snapshot file: magic "TRPSNAP1" | crc32c(rest) u32 | index u64 | term u64 | configLen u32 |
 * config JSON | dataLen u32 | data.
 */
import type { EntryType, HardState, LogEntry, RaftConfiguration, Snapshot } from '../RaftStorage.ts'
import { RaftStorageCorruptError } from '../errors.ts'
import { crc32c } from './crc32c.ts'

export const SEGMENT_MAGIC = 'TRPRLOG1'
export const SEGMENT_VERSION = 1
export const SEGMENT_HEADER_BYTES = 24
export const UNIT_HEADER_BYTES = 12
/** Larger declared unit lengths are not believed (a persist batch of 1 GiB is not a Raft batch). */
export const MAX_UNIT_BYTES = 1 << 30
const SNAPSHOT_MAGIC = 'TRPSNAP1'
const SNAPSHOT_FIXED_BYTES = 8 + 4 + 8 + 8 + 4 + 4

const TYPE_CODES: Readonly<Record<EntryType, number>> = { command: 1, noop: 2, config: 3 }
const TYPES_BY_CODE: readonly (EntryType | undefined)[] = [undefined, 'command', 'noop', 'config']
const HARD_STATE_CODE = 4

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const TWO_32 = 0x1_0000_0000

function writeU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_32))
  view.setUint32(offset + 4, value >>> 0)
}

function readU64(view: DataView, offset: number, what: string): number {
  const value = view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4)
  if (!Number.isSafeInteger(value)) throw new RaftStorageCorruptError(`${what} ${value} is not a safe integer`)
  return value
}

/** Big-endian u32 by hand: in the per-entry loop this beats DataView calls. */
function u32At(b: Uint8Array, at: number): number {
  return (((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)) >>> 0
}

/** Big-endian u64 as a safe integer, or -1 when it is not one. */
function u64At(b: Uint8Array, at: number): number {
  const hi = u32At(b, at)
  return hi >= 0x20_0000 ? -1 : hi * TWO_32 + u32At(b, at + 4)
}

function magicBytes(magic: string): Uint8Array {
  return encoder.encode(magic)
}

function hasMagic(bytes: Uint8Array, offset: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (bytes[offset + i] !== magic[i]) return false
  return true
}

const SEGMENT_MAGIC_BYTES = magicBytes(SEGMENT_MAGIC)
const SNAPSHOT_MAGIC_BYTES = magicBytes(SNAPSHOT_MAGIC)

export function encodeSegmentHeader(seq: number): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES)
  const view = new DataView(out.buffer)
  out.set(SEGMENT_MAGIC_BYTES, 0)
  view.setUint32(8, SEGMENT_VERSION)
  writeU64(view, 12, seq)
  view.setUint32(20, crc32c(out, 0, 20))
  return out
}

/** The header's sequence number, or null when the header is not a valid one. */
export function decodeSegmentHeader(bytes: Uint8Array): number | null {
  if (bytes.length < SEGMENT_HEADER_BYTES || !hasMagic(bytes, 0, SEGMENT_MAGIC_BYTES)) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES)
  if (view.getUint32(20) !== crc32c(bytes, 0, 20) || view.getUint32(8) !== SEGMENT_VERSION) return null
  const seq = view.getUint32(12) * TWO_32 + view.getUint32(16)
  return Number.isSafeInteger(seq) ? seq : null
}

/** Accumulates records and frames them as one unit. */
export class UnitWriter {
  private chunks: Uint8Array[] = []
  private size = 0

  get isEmpty(): boolean {
    return this.size === 0
  }

  addHardState(hardState: HardState): void {
    const voted = hardState.votedFor === null ? null : encoder.encode(hardState.votedFor)
    const out = new Uint8Array(1 + 8 + 4 + (voted?.length ?? 0))
    const view = new DataView(out.buffer)
    out[0] = HARD_STATE_CODE
    writeU64(view, 1, hardState.term)
    view.setInt32(9, voted === null ? -1 : voted.length)
    if (voted !== null) out.set(voted, 13)
    this.push(out)
  }

  addEntry(entry: LogEntry): void {
    const out = new Uint8Array(1 + 8 + 8 + 4 + entry.data.length)
    const view = new DataView(out.buffer)
    out[0] = TYPE_CODES[entry.type]
    writeU64(view, 1, entry.index)
    writeU64(view, 9, entry.term)
    view.setUint32(17, entry.data.length)
    out.set(entry.data, 21)
    this.push(out)
  }

  /** The framed unit; the writer is empty afterwards. */
  take(): Uint8Array {
    const out = new Uint8Array(UNIT_HEADER_BYTES + this.size)
    const view = new DataView(out.buffer)
    let offset = UNIT_HEADER_BYTES
    for (const chunk of this.chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    view.setUint32(0, this.size)
    view.setUint32(4, crc32c(out, 0, 4))
    view.setUint32(8, crc32c(out, UNIT_HEADER_BYTES, out.length))
    this.chunks = []
    this.size = 0
    return out
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk)
    this.size += chunk.length
  }
}

/** What reading one unit at an offset found. */
export type UnitRead =
  | { readonly kind: 'unit'; readonly payloadStart: number; readonly end: number }
  /** Fewer bytes than the header, or a declared length reaching past the end: only a tail can be this. */
  | { readonly kind: 'short' }
  /** A header whose length check fails: the length cannot be trusted, so the unit's end is unknown. */
  | { readonly kind: 'bad-length' }
  /** A believable length whose payload checksum fails; `end` is where the unit would end. */
  | { readonly kind: 'bad-crc'; readonly end: number }

export function readUnit(bytes: Uint8Array, offset: number): UnitRead {
  if (bytes.length - offset < UNIT_HEADER_BYTES) return { kind: 'short' }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, UNIT_HEADER_BYTES)
  const len = view.getUint32(0)
  if (view.getUint32(4) !== crc32c(bytes, offset, offset + 4) || len === 0 || len > MAX_UNIT_BYTES) return { kind: 'bad-length' }
  const payloadStart = offset + UNIT_HEADER_BYTES
  const end = payloadStart + len
  if (end > bytes.length) return { kind: 'short' }
  if (view.getUint32(8) !== crc32c(bytes, payloadStart, end)) return { kind: 'bad-crc', end }
  return { kind: 'unit', payloadStart, end }
}

export interface RecordSink {
  hardState(hardState: HardState): void
  entry(entry: LogEntry): void
}

/**
 * Decodes the records of a unit whose checksum passed. A malformed record inside a checksummed
 * unit is corruption (or a writer bug), never a torn tail.
 */
export function decodeUnit(source: Uint8Array, start: number, end: number, sink: RecordSink): void {
  // One copy per unit, and entries are views into it: entries kept in memory then pin at most
  // their own unit, never a whole segment buffer, and a million entries do not cost a million
  // separately allocated backing stores (which made recovery several times slower).
  const bytes = new Uint8Array(end - start)
  bytes.set(source.subarray(start, end))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  end -= start
  let at = 0
  while (at < end) {
    const code = bytes[at] as number
    if (code === HARD_STATE_CODE) {
      if (end - at < 13) throw new RaftStorageCorruptError(`hard-state record truncated at ${at}`)
      const term = readU64(view, at + 1, 'term')
      const votedLen = view.getInt32(at + 9)
      if (votedLen < -1 || votedLen > end - at - 13) throw new RaftStorageCorruptError(`hard-state vote length ${votedLen} at ${at}`)
      let votedFor: string | null = null
      if (votedLen >= 0) {
        try {
          votedFor = decoder.decode(bytes.subarray(at + 13, at + 13 + votedLen))
        } catch (cause) {
          throw new RaftStorageCorruptError(`hard-state vote is not UTF-8 at ${at}`, { cause })
        }
      }
      sink.hardState({ term, votedFor })
      at += 13 + Math.max(0, votedLen)
      continue
    }
    const type = TYPES_BY_CODE[code]
    if (type === undefined) throw new RaftStorageCorruptError(`unknown record type ${code} at ${at}`)
    if (end - at < 21) throw new RaftStorageCorruptError(`entry record truncated at ${at}`)
    const index = u64At(bytes, at + 1)
    const term = u64At(bytes, at + 9)
    const dataLen = u32At(bytes, at + 17)
    if (index < 0 || term < 0) throw new RaftStorageCorruptError(`entry index or term beyond 2^53 at ${at}`)
    if (dataLen > end - at - 21) throw new RaftStorageCorruptError(`entry data length ${dataLen} exceeds its unit at ${at}`)
    if (index < 1) throw new RaftStorageCorruptError(`entry index ${index} at ${at}`)
    const data = bytes.subarray(at + 21, at + 21 + dataLen)
    sink.entry({ index, term, type, data })
    at += 21 + dataLen
  }
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const config = encoder.encode(JSON.stringify({ voters: snapshot.config.voters, learners: snapshot.config.learners }))
  const out = new Uint8Array(SNAPSHOT_FIXED_BYTES + config.length + snapshot.data.length)
  const view = new DataView(out.buffer)
  out.set(SNAPSHOT_MAGIC_BYTES, 0)
  writeU64(view, 12, snapshot.index)
  writeU64(view, 20, snapshot.term)
  view.setUint32(28, config.length)
  out.set(config, 32)
  view.setUint32(32 + config.length, snapshot.data.length)
  out.set(snapshot.data, 36 + config.length)
  view.setUint32(8, crc32c(out, 12, out.length))
  return out
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}

/** Decodes a snapshot file; any mismatch is corruption (the file is only ever renamed into place whole). */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const fail = (why: string, cause?: unknown): never => {
    throw new RaftStorageCorruptError(`snapshot file: ${why}`, cause === undefined ? undefined : { cause })
  }
  if (bytes.length < SNAPSHOT_FIXED_BYTES || !hasMagic(bytes, 0, SNAPSHOT_MAGIC_BYTES)) fail('bad magic or too short')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (view.getUint32(8) !== crc32c(bytes, 12, bytes.length)) fail('checksum mismatch')
  const index = readU64(view, 12, 'snapshot index')
  const term = readU64(view, 20, 'snapshot term')
  const configLen = view.getUint32(28)
  if (configLen > bytes.length - SNAPSHOT_FIXED_BYTES) fail(`config length ${configLen}`)
  const dataLen = view.getUint32(32 + configLen)
  if (dataLen !== bytes.length - SNAPSHOT_FIXED_BYTES - configLen) fail(`data length ${dataLen}`)
  let config: RaftConfiguration | null = null
  try {
    const parsed: unknown = JSON.parse(decoder.decode(bytes.subarray(32, 32 + configLen)))
    const candidate = parsed as { voters?: unknown; learners?: unknown }
    if (typeof parsed === 'object' && parsed !== null && isStringArray(candidate.voters) && isStringArray(candidate.learners)) {
      config = { voters: candidate.voters, learners: candidate.learners }
    }
  } catch (cause) {
    fail('config is not JSON', cause)
  }
  if (config === null) return fail('config is not {voters, learners}')
  return { index, term, config, data: new Uint8Array(bytes.subarray(36 + configLen)) }
}
