import { defineError } from '../../runtime/index.ts'

/** Stable codes of the Raft layer (cluster/raft). */
export const RaftErrorCodes = {
  StorageCorrupt: 'ERR_RAFT_STORAGE_CORRUPT',
  StorageClosed: 'ERR_RAFT_STORAGE_CLOSED',
} as const

/** Durable Raft state failed a check before its tail (a bad CRC, an impossible index): never skipped silently. */
export const RaftStorageCorruptError = defineError(RaftErrorCodes.StorageCorrupt, 'RaftStorageCorruptError')
export type RaftStorageCorruptError = InstanceType<typeof RaftStorageCorruptError>
/** The storage was closed; the call did nothing. */
export const RaftStorageClosedError = defineError(RaftErrorCodes.StorageClosed, 'RaftStorageClosedError')
export type RaftStorageClosedError = InstanceType<typeof RaftStorageClosedError>
