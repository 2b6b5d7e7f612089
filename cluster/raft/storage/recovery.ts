/**
 * Reading the durable state back: scanning segment files unit by unit, telling a torn tail (cut it
 * off) from corruption before the tail (fail with ERR_RAFT_STORAGE_CORRUPT), and replaying records
 * into the live log.
 *
 * Only the last unit of the last segment can be torn: units are written one at a time, each after
 * the previous one's fsync, and a segment is sealed (its last unit fsynced) before the next one is
 * created. So anything wrong before that point, or a valid unit found after a bad one, is corruption.
 */
import type { HardState, LogEntry } from '../RaftStorage.ts'
import { RaftStorageCorruptError } from '../errors.ts'
import { decodeSegmentHeader, decodeUnit, readUnit, SEGMENT_HEADER_BYTES, UNIT_HEADER_BYTES, type RecordSink } from './codec.ts'

export interface SegmentScan {
  /** Where valid data ends; bytes after it (a torn tail) are to be cut off. */
  readonly validEnd: number
  /** True when bytes after `validEnd` were found and judged a torn tail. */
  readonly torn: boolean
  /** The largest entry index of any record in the segment (0 when none): compaction's test. */
  readonly maxIndex: number
  /** The header itself was torn (only possible for the last segment): the file holds nothing. */
  readonly emptyTorn: boolean
}

/** True when a unit with a valid length and checksum starts anywhere in `bytes` after `from`. */
function validUnitAfter(bytes: Uint8Array, from: number): boolean {
  for (let at = from + 1; at + UNIT_HEADER_BYTES <= bytes.length; at++) {
    if (readUnit(bytes, at).kind === 'unit') return true
  }
  return false
}

/**
 * Scans one segment, feeding its records to `sink`. `isLast` allows a torn tail; `name` is only for
 * messages; `seq` must match the header.
 */
export function scanSegment(bytes: Uint8Array, seq: number, isLast: boolean, name: string, sink: RecordSink): SegmentScan {
  const headerSeq = decodeSegmentHeader(bytes)
  if (headerSeq === null) {
    // A crash while the segment was being created, before anything in it could have been acknowledged.
    if (isLast && bytes.length < SEGMENT_HEADER_BYTES) return { validEnd: 0, torn: bytes.length > 0, maxIndex: 0, emptyTorn: true }
    throw new RaftStorageCorruptError(`segment ${name}: bad header`)
  }
  if (headerSeq !== seq) throw new RaftStorageCorruptError(`segment ${name}: header says sequence ${headerSeq}`)
  let maxIndex = 0
  const counting: RecordSink = {
    hardState: (hardState) => sink.hardState(hardState),
    entry: (entry) => {
      if (entry.index > maxIndex) maxIndex = entry.index
      sink.entry(entry)
    },
  }
  let at = SEGMENT_HEADER_BYTES
  while (at < bytes.length) {
    const unit = readUnit(bytes, at)
    if (unit.kind === 'unit') {
      decodeUnit(bytes, unit.payloadStart, unit.end, counting)
      at = unit.end
      continue
    }
    const torn =
      isLast &&
      (unit.kind === 'short' ||
        (unit.kind === 'bad-crc' && unit.end === bytes.length) ||
        (unit.kind === 'bad-length' && !validUnitAfter(bytes, at)))
    if (!torn) throw new RaftStorageCorruptError(`segment ${name}: ${unit.kind} unit at offset ${at} of ${bytes.length}, before the tail`)
    return { validEnd: at, torn: true, maxIndex, emptyTorn: false }
  }
  return { validEnd: at, torn: false, maxIndex, emptyTorn: false }
}

/**
 * Replays records in write order into the live log: an entry at or below the last live index
 * replaces the suffix from there (a follower's truncation, written as an append); entries at or
 * below the snapshot are covered by it; anything leaving a gap is corruption.
 */
export class LogReplay implements RecordSink {
  hardStateValue: HardState = { term: 0, votedFor: null }
  readonly entries: LogEntry[] = []
  private readonly snapshotIndex: number

  constructor(snapshotIndex: number) {
    this.snapshotIndex = snapshotIndex
  }

  /** The term of the live stored entry at the snapshot's index (undefined when none is stored). */
  private anchorTerm: number | undefined = undefined

  hardState(hardState: HardState): void {
    this.hardStateValue = hardState
  }

  entry(entry: LogEntry): void {
    const entries = this.entries
    if (entry.index <= this.snapshotIndex) {
      // Covered by the snapshot; anything live after it was written earlier than this record.
      entries.length = 0
      this.anchorTerm = entry.index === this.snapshotIndex ? entry.term : undefined
      return
    }
    const first = entries[0]
    if (first === undefined) {
      if (entry.index !== this.snapshotIndex + 1) throw new RaftStorageCorruptError(`log starts at ${entry.index}, the snapshot ends at ${this.snapshotIndex}`)
      entries.push(entry)
      return
    }
    const last = first.index + entries.length - 1
    if (entry.index > last + 1) throw new RaftStorageCorruptError(`log gap: entry ${entry.index} after ${last}`)
    // Shrinking only on a replacement: setting length on every append is a slow path in V8.
    if (entry.index <= last) entries.length = entry.index - first.index
    entries.push(entry)
  }

  /**
   * Raft §7 at load: entries after the snapshot are kept only if they continue it. When the stored
   * entry at the snapshot's index has another term (a snapshot installed from the leader, then a
   * crash before the install's anchor record), the suffix belongs to another history: dropped.
   * Returns true when it dropped one (the caller then writes the anchor, so later replays agree).
   */
  finish(snapshotTerm: number): boolean {
    if (this.anchorTerm === undefined || this.anchorTerm === snapshotTerm) return false
    this.entries.length = 0
    this.anchorTerm = snapshotTerm
    return true
  }

  /** The last live index (the snapshot's when the log holds nothing after it). */
  lastIndex(): number {
    const last = this.entries[this.entries.length - 1]
    return last === undefined ? this.snapshotIndex : last.index
  }
}
