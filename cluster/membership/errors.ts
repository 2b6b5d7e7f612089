import { defineError } from '../../runtime/index.ts'

/** Stable codes of the cluster state layer (cluster/membership). */
export const ClusterStateErrorCodes = {
  MalformedCommand: 'ERR_CLUSTER_MALFORMED_COMMAND',
  NameConflict: 'ERR_CLUSTER_NAME_CONFLICT',
  Quarantined: 'ERR_CLUSTER_QUARANTINED',
  NoQuorum: 'ERR_CLUSTER_NO_QUORUM',
  UnknownMember: 'ERR_CLUSTER_UNKNOWN_MEMBER',
  InvalidTransition: 'ERR_CLUSTER_INVALID_TRANSITION',
  Stopped: 'ERR_CLUSTER_STOPPED',
} as const

/** Command or snapshot bytes failed validation (hostile or corrupt); nothing was applied. */
export const ClusterMalformedCommandError = defineError(ClusterStateErrorCodes.MalformedCommand, 'ClusterMalformedCommandError')
export type ClusterMalformedCommandError = InstanceType<typeof ClusterMalformedCommandError>
/** `registerUnique` on a key another live actor holds (or a plain entry exists under a unique key). */
export const ClusterNameConflictError = defineError(ClusterStateErrorCodes.NameConflict, 'ClusterNameConflictError')
export type ClusterNameConflictError = InstanceType<typeof ClusterNameConflictError>
/** This incarnation was downed: it must restart with a new incarnation to rejoin. */
export const ClusterQuarantinedError = defineError(ClusterStateErrorCodes.Quarantined, 'ClusterQuarantinedError')
export type ClusterQuarantinedError = InstanceType<typeof ClusterQuarantinedError>
/** No leader with a quorum answered in time: this side of a partition refuses cluster-wide writes. Retriable. */
export const ClusterNoQuorumError = defineError(ClusterStateErrorCodes.NoQuorum, 'ClusterNoQuorumError')
export type ClusterNoQuorumError = InstanceType<typeof ClusterNoQuorumError>
/** The command names a member (or incarnation) the cluster does not know. */
export const ClusterUnknownMemberError = defineError(ClusterStateErrorCodes.UnknownMember, 'ClusterUnknownMemberError')
export type ClusterUnknownMemberError = InstanceType<typeof ClusterUnknownMemberError>
/** A member status change the lifecycle does not allow (up after down, join of a quarantined incarnation). */
export const ClusterInvalidTransitionError = defineError(ClusterStateErrorCodes.InvalidTransition, 'ClusterInvalidTransitionError')
export type ClusterInvalidTransitionError = InstanceType<typeof ClusterInvalidTransitionError>
/** The cluster state node was stopped. */
export const ClusterStoppedError = defineError(ClusterStateErrorCodes.Stopped, 'ClusterStoppedError')
export type ClusterStoppedError = InstanceType<typeof ClusterStoppedError>
