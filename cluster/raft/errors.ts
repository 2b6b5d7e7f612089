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

/** Codes of the protocol core and its driver (RaftCore, RaftNode, RaftCodec). */
export const RaftProtocolErrorCodes = {
  NotLeader: 'ERR_RAFT_NOT_LEADER',
  TransferInProgress: 'ERR_RAFT_TRANSFER_IN_PROGRESS',
  TransferFailed: 'ERR_RAFT_TRANSFER_FAILED',
  ConfigChangePending: 'ERR_RAFT_CONFIG_CHANGE_PENDING',
  InvalidConfigChange: 'ERR_RAFT_INVALID_CONFIG_CHANGE',
  MalformedMessage: 'ERR_RAFT_MALFORMED_MESSAGE',
  Stopped: 'ERR_RAFT_STOPPED',
  InvalidOptions: 'ERR_RAFT_INVALID_OPTIONS',
  ReadAborted: 'ERR_RAFT_READ_ABORTED',
} as const

/** Not the leader (the proposal, read or change was not taken); `data.leaderId` names the known leader or null. Retriable elsewhere. */
export const RaftNotLeaderError = defineError(RaftProtocolErrorCodes.NotLeader, 'RaftNotLeaderError')
export type RaftNotLeaderError = InstanceType<typeof RaftNotLeaderError>
/** A leadership transfer is under way: proposals are refused until it ends (retriable). */
export const RaftTransferInProgressError = defineError(RaftProtocolErrorCodes.TransferInProgress, 'RaftTransferInProgressError')
export type RaftTransferInProgressError = InstanceType<typeof RaftTransferInProgressError>
/** A leadership transfer was aborted (the target did not take over within an election timeout, or leadership was lost). */
export const RaftTransferFailedError = defineError(RaftProtocolErrorCodes.TransferFailed, 'RaftTransferFailedError')
export type RaftTransferFailedError = InstanceType<typeof RaftTransferFailedError>
/** A configuration change is refused for now: one is uncommitted, or no entry of the leader's term is committed yet (retriable). */
export const RaftConfigChangePendingError = defineError(RaftProtocolErrorCodes.ConfigChangePending, 'RaftConfigChangePendingError')
export type RaftConfigChangePendingError = InstanceType<typeof RaftConfigChangePendingError>
/** A configuration change that can never be made (promote a non-learner, remove the last voter, an unknown server). */
export const RaftInvalidConfigChangeError = defineError(RaftProtocolErrorCodes.InvalidConfigChange, 'RaftInvalidConfigChangeError')
export type RaftInvalidConfigChangeError = InstanceType<typeof RaftInvalidConfigChangeError>
/** Bytes that do not decode to a valid Raft message (hostile input: refused and counted, never half-applied). */
export const RaftMalformedMessageError = defineError(RaftProtocolErrorCodes.MalformedMessage, 'RaftMalformedMessageError')
export type RaftMalformedMessageError = InstanceType<typeof RaftMalformedMessageError>
/** The node was stopped; the call did nothing. */
export const RaftStoppedError = defineError(RaftProtocolErrorCodes.Stopped, 'RaftStoppedError')
export type RaftStoppedError = InstanceType<typeof RaftStoppedError>
/** Options that cannot run (non-positive timeouts, election timeout not above the heartbeat, an id missing). */
export const RaftInvalidOptionsError = defineError(RaftProtocolErrorCodes.InvalidOptions, 'RaftInvalidOptionsError')
export type RaftInvalidOptionsError = InstanceType<typeof RaftInvalidOptionsError>
/** A pending linearizable read lost its leader before it was confirmed (retriable). */
export const RaftReadAbortedError = defineError(RaftProtocolErrorCodes.ReadAborted, 'RaftReadAbortedError')
export type RaftReadAbortedError = InstanceType<typeof RaftReadAbortedError>

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

/** Added with follower reads (issue 19): a read forwarded to the leader. */
export const RaftReadErrorCodes = {
  NoLeader: 'ERR_RAFT_NO_LEADER',
  ReadTimeout: 'ERR_RAFT_READ_TIMEOUT',
} as const
/** No leader is known to forward the read to (an election is under way, or this server is cut off); retriable. */
export const RaftNoLeaderError = defineError(RaftReadErrorCodes.NoLeader, 'RaftNoLeaderError')
export type RaftNoLeaderError = InstanceType<typeof RaftNoLeaderError>
/**
 * A read was not confirmed within `readTimeoutMs` (the leader did not answer: cut off, no quorum, or
 * the request or its answer was lost). Nothing was read; retriable.
 */
export const RaftReadTimeoutError = defineError(RaftReadErrorCodes.ReadTimeout, 'RaftReadTimeoutError')
export type RaftReadTimeoutError = InstanceType<typeof RaftReadTimeoutError>
