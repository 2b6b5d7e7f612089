/**
 * Public entry point of the cluster layer (`troupe/cluster`): nodes over NATS (transport and
 * membership) and the external gateway. Importing it loads nats.js; `troupe` and `troupe/transport` do not.
 */
export {
  checkPublicName,
  clusterKeyId,
  DEFAULT_SUBJECT_PREFIX,
  FrameSigner,
  HeartbeatMembership,
  natsAuthProblems,
  natsConnectOptions,
  NatsDownError,
  NatsErrorCodes,
  NatsTransport,
  natsUplink,
  ArrivalWindow,
  PeerLeavingError,
  phi,
  PHI_ACCRUAL_DEFAULTS,
  phiAccrualSettings,
  QuarantinedError,
  SIGNATURE_BYTES,
  Subjects,
} from '../transport/nats/index.ts'
export type {
  ClusterSecret,
  HeartbeatMembershipOptions,
  HeartbeatMembershipStats,
  HeartbeatMessage,
  HeartbeatOptions,
  Membership,
  MembershipListener,
  NatsAuth,
  NatsTransportOptions,
  NatsTransportStats,
  NatsTransportSystem,
  NatsUplinkOptions,
  PhiAccrualOptions,
  PhiAccrualSettings,
} from '../transport/nats/index.ts'
export { Gateway } from './gateway/Gateway.ts'
export type { GatewayOptions } from './gateway/Gateway.ts'
export { MAX_OUTCOME_LABELS, OTHER_OUTCOME_LABEL, UNKNOWN_METHOD_LABEL } from './gateway/GatewayStats.ts'
export type { GatewayStats } from './gateway/GatewayStats.ts'
export type { PublishableMethod, PublishOptions } from './gateway/Publication.ts'
export { MAX_ARG_DEPTH } from './gateway/Publication.ts'
export type { ArgsIssue, StandardIssue, StandardResult, StandardSchema, StandardSchemaProps } from './gateway/StandardSchema.ts'
export {
  BadRequestError,
  DeadlineExceededError,
  GatewayErrorCodes,
  InvalidArgsError,
  MalformedRequestError,
  PayloadTooLargeError,
} from './gateway/errors.ts'
export type { GatewayErrorCode } from './gateway/errors.ts'
export { ContentTypes, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_TIMEOUT_MS, GatewayHeaders, TRACE_HEADERS } from './gateway/protocol.ts'
export type { CallReply, CallRequest, ContentType, NamesAnnouncement } from './gateway/protocol.ts'
export { attachLinkLog, attachOperatorLog, createTracing, shardObserver, TroupeMetrics } from './observability/index.ts'
export type { LinkEvents, MetricsOptions, TracingOptions } from './observability/index.ts'
export {
  ConfigError,
  ConfigErrorCodes,
  CoordinatedShutdown,
  defineApp,
  ExitCode,
  HttpServer,
  loadApp,
  natsNetwork,
  resolveConfig,
  runCli,
  TroupeNode,
} from './node/index.ts'
export type {
  AppContext,
  ReadinessProbe,
  AppDefinition,
  CliIo,
  Logger,
  NetworkFactory,
  NodeConfig,
  NodeNetwork,
  NodeOptions,
  NodeOutcome,
  PhaseToken,
  ShutdownPhase,
  ShutdownReport,
} from './node/index.ts'
// Raft (cluster/raft): pure core, driver over ports, codec, storage port.
export {
  decodeConfig,
  encodeConfig,
  MessageKinds,
  Progress,
  RAFT_CODEC_VERSION,
  RaftCodec,
  RaftConfigChangePendingError,
  RaftCore,
  RaftErrorCodes,
  RaftInvalidConfigChangeError,
  RaftInvalidOptionsError,
  RaftLog,
  RaftMalformedMessageError,
  RaftNode,
  RaftNotLeaderError,
  RaftProtocolErrorCodes,
  RaftReadAbortedError,
  RaftStorageClosedError,
  RaftStorageCorruptError,
  RaftStoppedError,
  RaftTransferFailedError,
  RaftTransferInProgressError,
} from './raft/index.ts'
export type {
  Applied,
  ConfigChange,
  CoreNotice,
  EntryType,
  HardState,
  LogEntry,
  MessageKind,
  PersistBatch,
  ProposeResult,
  RaftConfiguration,
  RaftCoreOptions,
  RaftDurableState,
  RaftEvent,
  RaftMessage,
  RaftNodeOptions,
  RaftNodeState,
  RaftRole,
  RaftStorage,
  RaftTransport,
  Ready,
  ReadState,
  Snapshot,
  SoftState,
} from './raft/index.ts'
// Raft follower reads (issue 19): forwarded ReadIndex and its typed errors.
export { RaftNoLeaderError, RaftReadErrorCodes, RaftReadTimeoutError } from './raft/index.ts'
export type { ReadIndexMessage, ReadIndexResponseMessage } from './raft/index.ts'
// Raft over the node transport (cluster/raft/transport).
export { RemoteRaftTransport } from './raft/transport/index.ts'
export type { RaftEndpointProtocol, RaftLinkView, RemoteRaftTransportOptions, RemoteRaftTransportStats } from './raft/transport/index.ts'
// Cluster state on Raft (cluster/membership, issue 14): state machine, codec, policies, driver.
export {
  ClusterInvalidTransitionError,
  ClusterMalformedCommandError,
  ClusterNameConflictError,
  ClusterNoQuorumError,
  ClusterQuarantinedError,
  ClusterStateErrorCodes,
  ClusterStateMachine,
  ClusterStateNode,
  ClusterStoppedError,
  ClusterUnknownMemberError,
  CLUSTER_COMMAND_VERSION,
  decodeCommand,
  decodePeerMessage,
  downingVerdict,
  electSingletonHost,
  encodeCommand,
  encodePeerMessage,
  LeaderDuties,
  nextVoterStep,
  raftId,
  validateCommand,
} from './membership/index.ts'
export type {
  ApplyResult,
  ClusterChange,
  ClusterCommand,
  ClusterCommandType,
  ClusterPeerLink,
  ClusterState,
  ClusterStateNodeOptions,
  DowningVerdict,
  FencingToken,
  LeaderDutiesOptions,
  Member,
  MemberInfo,
  MemberStatus,
  PeerMessage,
  Placement,
  RegistryEntry,
  VoterStep,
} from './membership/index.ts'
// Cluster state on NATS JetStream (cluster/membership/jetstream, issue 14): the same port over a stream log, KV snapshot and lease.
export { createJetStreamClusterState, decodeLeaseHolder, decodeSnapshotRecord, encodeSnapshotRecord, JETSTREAM_TERM, JetStreamClusterState, leaseEligible, nextDuty, SNAPSHOT_RECORD_VERSION } from './membership/jetstream/index.ts'
export type { JetStreamClusterStateOptions, JetStreamClusterStateStats, LeaseHolder, SnapshotRecord } from './membership/jetstream/index.ts'
// Cluster state between node processes (cluster/membership/nats): the peer link over Remoting.
export { NatsClusterPeerLink } from './membership/nats/index.ts'
export type { NatsClusterPeerLinkOptions, NatsClusterPeerLinkStats, PeerLinkView } from './membership/nats/index.ts'
// Raft's durable storage (segmented log with CRC-32C, group commit, atomic snapshots; docs/raft-storage.md).
export { FileRaftStorage } from './raft/FileRaftStorage.ts'
export type { FileRaftStorageOptions } from './raft/FileRaftStorage.ts'
// Actor-facing cluster features over the ClusterState port (cluster/features, issue 14).
export {
  Cluster,
  ClusterFeatureErrorCodes,
  ClusterFeaturesStoppedError,
  ClusterInvalidKeyError,
  ClusterRoutees,
  createCluster,
  PubSub,
  PubSubLaggedError,
  pubSubTopic,
  Receptionist,
  refString,
  serviceKey,
  SingletonProxyOverflowError,
  SingletonProxyRef,
  SingletonUnavailableError,
} from './features/index.ts'
export type {
  ClusterOptions,
  LagPolicy,
  PubSubClosed,
  PubSubCloseReason,
  PubSubSubscription,
  PubSubTopic,
  ServiceKey,
  SingletonHandle,
  SingletonOptions,
  SingletonProxyOptions,
  SingletonStatus,
  SingletonToken,
  SubscribeOptions,
} from './features/index.ts'
// A system's cluster features (Akka's `Cluster(system)`), and an app's singleton declarations (issue 14, nodes).
export { clusterOf } from './features/index.ts'
export type { AppSingleton } from './node/index.ts'
