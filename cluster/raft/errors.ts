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

/** Added with FileRaftStorage (issue 19). */
export const RaftStorageErrorCodes = {
  StorageLocked: 'ERR_RAFT_STORAGE_LOCKED',
  StorageInvalid: 'ERR_RAFT_STORAGE_INVALID',
  StorageFailed: 'ERR_RAFT_STORAGE_FAILED',
} as const
/** Another live process (or another storage object in this one) holds the data directory's lock. */
export const RaftStorageLockedError = defineError(RaftStorageErrorCodes.StorageLocked, 'RaftStorageLockedError')
export type RaftStorageLockedError = InstanceType<typeof RaftStorageLockedError>
/** A call the contract does not allow (a gap in indexes, compacting past the snapshot, persist before load); nothing was written. */
export const RaftStorageInvalidError = defineError(RaftStorageErrorCodes.StorageInvalid, 'RaftStorageInvalidError')
export type RaftStorageInvalidError = InstanceType<typeof RaftStorageInvalidError>
/**
 * A write or fsync failed. What reached the disk is then unknown (a failed fsync may have dropped
 * dirty pages), so the storage refuses every later call; reopen it and `load` to recover.
 */
export const RaftStorageFailedError = defineError(RaftStorageErrorCodes.StorageFailed, 'RaftStorageFailedError')
export type RaftStorageFailedError = InstanceType<typeof RaftStorageFailedError>
