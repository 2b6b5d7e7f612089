/** Cluster state on Raft (cluster/membership): the pure state machine, its command codec and policies. */
export { ClusterStateMachine, MAX_SNAPSHOT_BYTES } from './ClusterStateMachine.ts'
export { ClusterStateNode } from './ClusterStateNode.ts'
export type { ClusterState } from './ClusterState.ts'
export type { ClusterStateNodeOptions } from './ClusterStateNode.ts'
export { decodePeerMessage, encodePeerMessage } from './ClusterPeerLink.ts'
export type { ClusterPeerLink, PeerMessage } from './ClusterPeerLink.ts'
export { LeaderDuties } from './LeaderDuties.ts'
export type { LeaderDutiesOptions } from './LeaderDuties.ts'
export { CLUSTER_COMMAND_VERSION, decodeCommand, encodeCommand, validateCommand, MAX_COMMAND_BYTES, MAX_FIELD_CHARS, MAX_ROLES } from './ClusterCommandCodec.ts'
export { downingVerdict, electSingletonHost, nextVoterStep, raftId } from './policies.ts'
export type { DowningVerdict, VoterStep } from './policies.ts'
export type { ApplyResult, ClusterChange, ClusterCommand, ClusterCommandType, FencingToken, Member, MemberInfo, MemberStatus, Placement, RegistryEntry } from './types.ts'
export {
  ClusterInvalidTransitionError,
  ClusterMalformedCommandError,
  ClusterNameConflictError,
  ClusterNoQuorumError,
  ClusterQuarantinedError,
  ClusterStateErrorCodes,
  ClusterStoppedError,
  ClusterUnknownMemberError,
} from './errors.ts'
