import { ClusterMalformedCommandError } from '../errors.ts'

/** First byte of a snapshot record: readers refuse versions they do not know. */
export const SNAPSHOT_RECORD_VERSION = 1
const HEADER_BYTES = 9

/**
 * A snapshot as stored in the KV bucket: `[version][stream sequence, u64 big-endian][state bytes]`.
 * The sequence is the last log entry the state covers (malformed entries included, which the state
 * machine's own `applied` index does not count), so a member restoring it resumes at sequence + 1.
 */
export interface SnapshotRecord {
  readonly seq: number
  readonly state: Uint8Array
}

export function encodeSnapshotRecord(record: SnapshotRecord): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + record.state.length)
  out[0] = SNAPSHOT_RECORD_VERSION
  new DataView(out.buffer).setBigUint64(1, BigInt(record.seq))
  out.set(record.state, HEADER_BYTES)
  return out
}

/** The header only (cheap): which sequence a stored snapshot covers. Hostile bytes give ERR_CLUSTER_MALFORMED_COMMAND. */
export function snapshotRecordSeq(bytes: Uint8Array): number {
  if (bytes.length < HEADER_BYTES) throw new ClusterMalformedCommandError(`snapshot record of ${bytes.length} bytes is shorter than its header`)
  if (bytes[0] !== SNAPSHOT_RECORD_VERSION) throw new ClusterMalformedCommandError(`snapshot record version ${bytes[0]} is unknown`)
  const seq = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1)
  if (seq > BigInt(Number.MAX_SAFE_INTEGER)) throw new ClusterMalformedCommandError('snapshot record sequence out of range')
  return Number(seq)
}

/** Splits a stored record; the state bytes are validated later by ClusterStateMachine.restore. */
export function decodeSnapshotRecord(bytes: Uint8Array): SnapshotRecord {
  return { seq: snapshotRecordSeq(bytes), state: bytes.subarray(HEADER_BYTES) }
}
