import { defineError, defineRejection, ErrorCodes } from '../runtime/index.ts'

export const SupervisionErrorCodes = {
  SupervisorGaveUp: ErrorCodes.SupervisorGaveUp,
  ChildStartFailed: 'ERR_CHILD_START',
  UnknownChild: 'ERR_UNKNOWN_CHILD',
  ChildExists: 'ERR_CHILD_EXISTS',
  ChildRunning: 'ERR_CHILD_RUNNING',
  InvalidChildSpec: 'ERR_INVALID_CHILD_SPEC',
  TooManyChildren: 'ERR_TOO_MANY_CHILDREN',
} as const

/** Restart intensity exceeded: the supervisor stopped its children and failed, escalating to its parent. */
export const SupervisorGaveUpError = defineError(SupervisionErrorCodes.SupervisorGaveUp, 'SupervisorGaveUpError')
export type SupervisorGaveUpError = InstanceType<typeof SupervisorGaveUpError>
// The supervisor API's refusals are Rejections: the caller gets them, the supervisor carries on
// (OTP's `{error, Reason}` returns).

/** A child failed to start; `cause` is its start failure. */
export const ChildStartError = defineRejection(SupervisionErrorCodes.ChildStartFailed, 'ChildStartError')
export type ChildStartError = InstanceType<typeof ChildStartError>
/** No child spec with that id. */
export const UnknownChildError = defineRejection(SupervisionErrorCodes.UnknownChild, 'UnknownChildError')
export type UnknownChildError = InstanceType<typeof UnknownChildError>
/** A child spec with that id already exists. */
export const ChildExistsError = defineRejection(SupervisionErrorCodes.ChildExists, 'ChildExistsError')
export type ChildExistsError = InstanceType<typeof ChildExistsError>
/** The operation needs the child to be terminated first (OTP's `running`). */
export const ChildRunningError = defineRejection(SupervisionErrorCodes.ChildRunning, 'ChildRunningError')
export type ChildRunningError = InstanceType<typeof ChildRunningError>
/** A child spec or supervisor spec is invalid. */
export const InvalidChildSpecError = defineRejection(SupervisionErrorCodes.InvalidChildSpec, 'InvalidChildSpecError')
export type InvalidChildSpecError = InstanceType<typeof InvalidChildSpecError>
/** A dynamic supervisor is at its `maxChildren`. */
export const TooManyChildrenError = defineRejection(SupervisionErrorCodes.TooManyChildren, 'TooManyChildrenError')
export type TooManyChildrenError = InstanceType<typeof TooManyChildrenError>
