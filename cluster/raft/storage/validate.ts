/** Checks of what the driver hands the storage, before anything is written (GUIDE rule 20). */
import type { EntryType, PersistBatch, Snapshot } from '../RaftStorage.ts'
import { RaftStorageInvalidError } from '../errors.ts'

const TYPES: ReadonlySet<EntryType> = new Set(['command', 'noop', 'config'])

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/**
 * Validates a persist batch against the log as it will be once every earlier accepted batch is
 * written; returns the last index after this one. Entries must be consecutive, start after the
 * snapshot, and start no later than right after the last index (equal or lower replaces the suffix).
 */
export function checkBatch(batch: PersistBatch, lastIndex: number, snapshotIndex: number): number {
  const hardState = batch.hardState
  if (hardState !== undefined) {
    if (!isCount(hardState.term)) throw new RaftStorageInvalidError(`hard state term ${String(hardState.term)} is not a non-negative integer`)
    if (hardState.votedFor !== null && typeof hardState.votedFor !== 'string') throw new RaftStorageInvalidError('hard state votedFor must be a string or null')
  }
  const entries = batch.entries ?? []
  const first = entries[0]
  if (first === undefined) return lastIndex
  if (first.index <= snapshotIndex) throw new RaftStorageInvalidError(`entry ${first.index} is covered by the snapshot at ${snapshotIndex}`)
  if (first.index > Math.max(lastIndex, snapshotIndex) + 1) throw new RaftStorageInvalidError(`entry ${first.index} would leave a gap after ${Math.max(lastIndex, snapshotIndex)}`)
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]
    if (entry === undefined || !isCount(entry.index) || entry.index !== first.index + i) throw new RaftStorageInvalidError(`entries in one batch must have consecutive indexes (at position ${i})`)
    if (!isCount(entry.term)) throw new RaftStorageInvalidError(`entry ${entry.index}: term ${String(entry.term)} is not a non-negative integer`)
    if (!TYPES.has(entry.type)) throw new RaftStorageInvalidError(`entry ${entry.index}: unknown type ${String(entry.type)}`)
    if (!(entry.data instanceof Uint8Array)) throw new RaftStorageInvalidError(`entry ${entry.index}: data must be a Uint8Array`)
  }
  if (batchBytes(batch) > MAX_BATCH_BYTES) throw new RaftStorageInvalidError(`a persist batch is limited to ${MAX_BATCH_BYTES} bytes of data`)
  return first.index + entries.length - 1
}

/** One write unit stays well under codec.MAX_UNIT_BYTES: a batch alone, or a group of them. */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024

/** The data bytes of a batch (record headers are small next to this bound). */
export function batchBytes(batch: PersistBatch): number {
  let bytes = 0
  for (const entry of batch.entries ?? []) bytes += entry.data.length + 21
  return bytes
}

export function checkSnapshot(snapshot: Snapshot, currentIndex: number): void {
  if (!isCount(snapshot.index) || !isCount(snapshot.term)) throw new RaftStorageInvalidError('snapshot index and term must be non-negative integers')
  if (snapshot.index < currentIndex) throw new RaftStorageInvalidError(`snapshot at ${snapshot.index} is older than the stored one at ${currentIndex}`)
  const { voters, learners } = snapshot.config
  if (!Array.isArray(voters) || !Array.isArray(learners) || ![...voters, ...learners].every((id) => typeof id === 'string')) {
    throw new RaftStorageInvalidError('snapshot config must be { voters: string[], learners: string[] }')
  }
  if (!(snapshot.data instanceof Uint8Array)) throw new RaftStorageInvalidError('snapshot data must be a Uint8Array')
}
