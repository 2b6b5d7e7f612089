/**
 * Errors a call can end with, rebuilt from the stable code in the reply (`instanceof` does not cross
 * a network; the code does). Codes the client does not know (an actor's own error codes, runtime
 * codes such as ERR_MAILBOX_FULL) come back as a plain TroupeCallError with that code.
 */
import type { GatewayErrorCode } from '../cluster/index.ts'

/** The codes of the call protocol (docs/protocol.md), the same strings the gateway sends. */
export const CallErrorCodes = {
  UnknownActor: 'ERR_UNKNOWN_ACTOR',
  UnknownMethod: 'ERR_UNKNOWN_METHOD',
  BadRequest: 'ERR_BAD_REQUEST',
  InvalidArgs: 'ERR_INVALID_ARGS',
  Malformed: 'ERR_MALFORMED',
  PayloadTooLarge: 'ERR_PAYLOAD_TOO_LARGE',
  DeadlineExceeded: 'ERR_DEADLINE_EXCEEDED',
} as const satisfies Record<string, GatewayErrorCode>

export class TroupeCallError extends Error {
  readonly code: string
  readonly data: unknown
  constructor(code: string, message: string, options?: { data?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TroupeCallError'
    this.code = code
    this.data = options?.data
  }
}

function callError<C extends string>(code: C, name: string) {
  const ErrorClass = class extends TroupeCallError {
    declare readonly code: C
    constructor(message: string, options?: { data?: unknown; cause?: unknown }) {
      super(code, message, options)
      this.name = name
    }
  }
  Object.defineProperty(ErrorClass, 'name', { value: name })
  return ErrorClass
}

export const UnknownActorError = callError(CallErrorCodes.UnknownActor, 'UnknownActorError')
export type UnknownActorError = InstanceType<typeof UnknownActorError>
export const UnknownMethodError = callError(CallErrorCodes.UnknownMethod, 'UnknownMethodError')
export type UnknownMethodError = InstanceType<typeof UnknownMethodError>
export const BadRequestError = callError(CallErrorCodes.BadRequest, 'BadRequestError')
export type BadRequestError = InstanceType<typeof BadRequestError>
export const InvalidArgsError = callError(CallErrorCodes.InvalidArgs, 'InvalidArgsError')
export type InvalidArgsError = InstanceType<typeof InvalidArgsError>
export const MalformedRequestError = callError(CallErrorCodes.Malformed, 'MalformedRequestError')
export type MalformedRequestError = InstanceType<typeof MalformedRequestError>
export const PayloadTooLargeError = callError(CallErrorCodes.PayloadTooLarge, 'PayloadTooLargeError')
export type PayloadTooLargeError = InstanceType<typeof PayloadTooLargeError>
export const DeadlineExceededError = callError(CallErrorCodes.DeadlineExceeded, 'DeadlineExceededError')
export type DeadlineExceededError = InstanceType<typeof DeadlineExceededError>

const byCode: ReadonlyMap<string, new (message: string, options?: { data?: unknown; cause?: unknown }) => TroupeCallError> = new Map<
  string,
  new (message: string, options?: { data?: unknown; cause?: unknown }) => TroupeCallError
>([
  [CallErrorCodes.UnknownActor, UnknownActorError],
  [CallErrorCodes.UnknownMethod, UnknownMethodError],
  [CallErrorCodes.BadRequest, BadRequestError],
  [CallErrorCodes.InvalidArgs, InvalidArgsError],
  [CallErrorCodes.Malformed, MalformedRequestError],
  [CallErrorCodes.PayloadTooLarge, PayloadTooLargeError],
  [CallErrorCodes.DeadlineExceeded, DeadlineExceededError],
])

/** Rebuilds the typed error of an `{error: {code, message, data?}}` reply. */
export function errorFromReply(error: { code: string; message: string; data?: unknown }): TroupeCallError {
  const options = error.data === undefined ? undefined : { data: error.data }
  const ErrorClass = byCode.get(error.code)
  return ErrorClass === undefined ? new TroupeCallError(error.code, error.message, options) : new ErrorClass(error.message, options)
}
