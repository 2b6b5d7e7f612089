/**
 * Raft (cluster/raft): the pure protocol core, its driver over ports, the message codec and the
 * storage port. Imports nothing from transports or service clients: adapters live elsewhere.
 */
export { RaftCore } from './RaftCore.ts'
export { RaftLog } from './RaftLog.ts'
export { Progress } from './Progress.ts'
export type { ProgressState } from './Progress.ts'
export { RaftNode } from './RaftNode.ts'
export type { Applied, ProposeResult, RaftEvent, RaftNodeOptions, RaftNodeState } from './RaftNode.ts'
export { RaftCodec, RAFT_CODEC_VERSION } from './RaftCodec.ts'
export type { RaftCodecLimits } from './RaftCodec.ts'
export { decodeConfig, encodeConfig, MAX_ID_BYTES, MAX_SERVERS } from './configCodec.ts'
export { MessageKinds } from './messages.ts'
export type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  MessageKind,
  ReadIndexMessage,
  ReadIndexResponseMessage,
  RaftMessage,
  SnapshotMessage,
  SnapshotResponseMessage,
  TimeoutNowMessage,
  VoteMessage,
  VoteResponseMessage,
} from './messages.ts'
export type { RaftTransport } from './RaftTransport.ts'
export type { ConfigChange, CoreNotice, RaftCoreOptions, RaftRole, Ready, ReadState, SoftState } from './types.ts'
export type { EntryType, HardState, LogEntry, PersistBatch, RaftConfiguration, RaftDurableState, RaftStorage, Snapshot } from './RaftStorage.ts'
export {
  RaftConfigChangePendingError,
  RaftErrorCodes,
  RaftInvalidConfigChangeError,
  RaftInvalidOptionsError,
  RaftMalformedMessageError,
  RaftNotLeaderError,
  RaftProtocolErrorCodes,
  RaftReadAbortedError,
  RaftStorageClosedError,
  RaftStorageCorruptError,
  RaftStoppedError,
  RaftTransferFailedError,
  RaftTransferInProgressError,
  RaftNoLeaderError,
  RaftReadErrorCodes,
  RaftReadTimeoutError,
} from './errors.ts'
