import { defineError, ErrorCodes } from '../runtime/index.ts'

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
/** A child failed to start; `cause` is its start failure. */
export const ChildStartError = defineError(SupervisionErrorCodes.ChildStartFailed, 'ChildStartError')
export type ChildStartError = InstanceType<typeof ChildStartError>
/** No child spec with that id. */
export const UnknownChildError = defineError(SupervisionErrorCodes.UnknownChild, 'UnknownChildError')
export type UnknownChildError = InstanceType<typeof UnknownChildError>
/** A child spec with that id already exists. */
export const ChildExistsError = defineError(SupervisionErrorCodes.ChildExists, 'ChildExistsError')
export type ChildExistsError = InstanceType<typeof ChildExistsError>
/** The operation needs the child to be terminated first (OTP's `running`). */
export const ChildRunningError = defineError(SupervisionErrorCodes.ChildRunning, 'ChildRunningError')
export type ChildRunningError = InstanceType<typeof ChildRunningError>
/** A child spec or supervisor spec is invalid. */
export const InvalidChildSpecError = defineError(SupervisionErrorCodes.InvalidChildSpec, 'InvalidChildSpecError')
export type InvalidChildSpecError = InstanceType<typeof InvalidChildSpecError>
/** A dynamic supervisor is at its `maxChildren`. */
export const TooManyChildrenError = defineError(SupervisionErrorCodes.TooManyChildren, 'TooManyChildrenError')
export type TooManyChildrenError = InstanceType<typeof TooManyChildrenError>
