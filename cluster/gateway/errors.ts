import { defineError, ErrorCodes } from '../../runtime/index.ts'

/**
 * Stable codes of the external call protocol (docs/protocol.md has the table). Replies carry them as
 * `{error: {code, message}}`; the TS client rebuilds a typed error from each.
 */
export const GatewayErrorCodes = {
  /** No published actor has that public name (or it stopped). */
  UnknownActor: ErrorCodes.UnknownActor,
  /** The method is not published for that actor, or the actor has no such handler. */
  UnknownMethod: ErrorCodes.UnknownMethod,
  /** The payload decoded, but is not `{method: string, args?: array}`, or a header is invalid. */
  BadRequest: 'ERR_BAD_REQUEST',
  /** The arguments were refused by the publish-time validator. */
  InvalidArgs: 'ERR_INVALID_ARGS',
  /** The payload is not valid JSON / msgpack. */
  Malformed: 'ERR_MALFORMED',
  /** The request payload exceeds the gateway's size limit. */
  PayloadTooLarge: 'ERR_PAYLOAD_TOO_LARGE',
  /** The caller's deadline had passed on arrival, or passed before the actor replied. */
  DeadlineExceeded: 'ERR_DEADLINE_EXCEEDED',
} as const
export type GatewayErrorCode = (typeof GatewayErrorCodes)[keyof typeof GatewayErrorCodes]

export const BadRequestError = defineError(GatewayErrorCodes.BadRequest, 'BadRequestError')
export type BadRequestError = InstanceType<typeof BadRequestError>
export const InvalidArgsError = defineError(GatewayErrorCodes.InvalidArgs, 'InvalidArgsError')
export type InvalidArgsError = InstanceType<typeof InvalidArgsError>
export const MalformedRequestError = defineError(GatewayErrorCodes.Malformed, 'MalformedRequestError')
export type MalformedRequestError = InstanceType<typeof MalformedRequestError>
export const PayloadTooLargeError = defineError(GatewayErrorCodes.PayloadTooLarge, 'PayloadTooLargeError')
export type PayloadTooLargeError = InstanceType<typeof PayloadTooLargeError>
export const DeadlineExceededError = defineError(GatewayErrorCodes.DeadlineExceeded, 'DeadlineExceededError')
export type DeadlineExceededError = InstanceType<typeof DeadlineExceededError>
