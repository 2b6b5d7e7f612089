import { defineError, defineRejection, ErrorCodes } from '../runtime/index.ts'

export const SupervisionErrorCodes = {
  SupervisorGaveUp: ErrorCodes.SupervisorGaveUp,
  ChildStartFailed: 'ERR_CHILD_START',
  UnknownChild: 'ERR_UNKNOWN_CHILD',
  AlreadyStarted: 'ERR_ALREADY_STARTED',
  AlreadyPresent: 'ERR_ALREADY_PRESENT',
  ChildRunning: 'ERR_CHILD_RUNNING',
  ChildRestarting: 'ERR_CHILD_RESTARTING',
  InvalidChildSpec: 'ERR_INVALID_CHILD_SPEC',
  InvalidSupervisorSpec: 'ERR_INVALID_SUPERVISOR_SPEC',
  TooManyChildren: 'ERR_TOO_MANY_CHILDREN',
  NoRoutees: 'ERR_NO_ROUTEES',
  BackoffStashFull: 'ERR_BACKOFF_STASH_FULL',
} as const

/** Restart intensity exceeded: the supervisor stopped its children and failed, escalating to its parent. */
export const SupervisorGaveUpError = defineError(SupervisionErrorCodes.SupervisorGaveUp, 'SupervisorGaveUpError')
export type SupervisorGaveUpError = InstanceType<typeof SupervisorGaveUpError>
// The supervisor API's refusals are Rejections: the caller gets them, the supervisor carries on
// (OTP's `{error, Reason}` returns).

/** A child failed to start; `cause` is its start failure. */
export const ChildStartError = defineRejection(SupervisionErrorCodes.ChildStartFailed, 'ChildStartError')
export type ChildStartError = InstanceType<typeof ChildStartError>
/** No child with that id (or ref): OTP's `not_found`. */
export const UnknownChildError = defineRejection(SupervisionErrorCodes.UnknownChild, 'UnknownChildError')
export type UnknownChildError = InstanceType<typeof UnknownChildError>
/** `startChild` of an id whose child runs (or is being restarted): OTP's `{already_started, Child}`; `data.ref` is that child. */
export const ChildAlreadyStartedError = defineRejection(SupervisionErrorCodes.AlreadyStarted, 'ChildAlreadyStartedError')
export type ChildAlreadyStartedError = InstanceType<typeof ChildAlreadyStartedError>
/** `startChild` of an id whose spec is kept but not running: OTP's `already_present` (use `restartChild`). */
export const ChildAlreadyPresentError = defineRejection(SupervisionErrorCodes.AlreadyPresent, 'ChildAlreadyPresentError')
export type ChildAlreadyPresentError = InstanceType<typeof ChildAlreadyPresentError>
/** The operation needs the child to be terminated first (OTP's `running`). */
export const ChildRunningError = defineRejection(SupervisionErrorCodes.ChildRunning, 'ChildRunningError')
export type ChildRunningError = InstanceType<typeof ChildRunningError>
/** The child is between a failure and its restart (a backoff wait, a failing restart loop): OTP's `restarting`. */
export const ChildRestartingError = defineRejection(SupervisionErrorCodes.ChildRestarting, 'ChildRestartingError')
export type ChildRestartingError = InstanceType<typeof ChildRestartingError>
/** A child spec is invalid; the message and `data.problems` list every problem found. */
export const InvalidChildSpecError = defineRejection(SupervisionErrorCodes.InvalidChildSpec, 'InvalidChildSpecError')
export type InvalidChildSpecError = InstanceType<typeof InvalidChildSpecError>
/** A supervisor's configuration is invalid; the message and `data.problems` list every problem found. */
export const InvalidSupervisorSpecError = defineRejection(SupervisionErrorCodes.InvalidSupervisorSpec, 'InvalidSupervisorSpecError')
export type InvalidSupervisorSpecError = InstanceType<typeof InvalidSupervisorSpecError>
/** A dynamic supervisor is at its `maxChildren`. */
export const TooManyChildrenError = defineRejection(SupervisionErrorCodes.TooManyChildren, 'TooManyChildrenError')
export type TooManyChildrenError = InstanceType<typeof TooManyChildrenError>
/** A router has no routee to send to. */
export const NoRouteesError = defineRejection(SupervisionErrorCodes.NoRoutees, 'NoRouteesError')
export type NoRouteesError = InstanceType<typeof NoRouteesError>
/** An ask reached a BackoffSupervisor while its child was down and its stash was full (the message is a dead letter, `stash-full`). */
export const BackoffStashFullError = defineRejection(SupervisionErrorCodes.BackoffStashFull, 'BackoffStashFullError')
export type BackoffStashFullError = InstanceType<typeof BackoffStashFullError>
