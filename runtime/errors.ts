/**
 * Typed errors of the runtime layer. Every error has a stable `code`; errors that cross a thread or a
 * node travel as `{code, name, message, data}` (see `encodeError`) and are rebuilt from the code,
 * because `instanceof` does not survive a hop.
 */

export interface EncodedError {
  readonly code: string
  readonly name: string
  readonly message: string
  readonly data?: unknown
}

export class TroupeError extends Error {
  readonly code: string
  readonly data: unknown
  constructor(code: string, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TroupeError'
    this.code = code
    this.data = options?.data
  }
}

type ErrorOptions = { cause?: unknown; data?: unknown }

/**
 * A handler's answer "no": thrown (or returned as a rejected promise) by a handler, it rejects the
 * caller's ask and leaves the actor running with its state, as Orleans returns a grain method's
 * exception to its caller. Anything else thrown is a failure, and the supervisor decides.
 */
export class Rejection extends TroupeError {
  constructor(code: string, message: string, options?: { cause?: unknown; data?: unknown }) {
    super(code, message, options)
    this.name = 'Rejection'
  }
}

/** Defines a Rejection class with a stable code (domain errors: `ERR_INSUFFICIENT_FUNDS`, say). */
export function defineRejection<C extends string>(code: C, name: string) {
  const RejectionClass = class extends Rejection {
    declare readonly code: C
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options)
      this.name = name
    }
  }
  Object.defineProperty(RejectionClass, 'name', { value: name })
  errorClassesByCode.set(code, RejectionClass)
  return RejectionClass
}

function defineError<C extends string>(code: C, name: string) {
  const ErrorClass = class extends TroupeError {
    declare readonly code: C
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options)
      this.name = name
    }
  }
  Object.defineProperty(ErrorClass, 'name', { value: name })
  errorClassesByCode.set(code, ErrorClass)
  return ErrorClass
}

const errorClassesByCode = new Map<string, new (message: string, options?: ErrorOptions) => TroupeError>()

export const ErrorCodes = {
  MailboxFull: 'ERR_MAILBOX_FULL',
  AskTimeout: 'ERR_ASK_TIMEOUT',
  ActorStopped: 'ERR_ACTOR_STOPPED',
  UnknownActor: 'ERR_UNKNOWN_ACTOR',
  UnknownMethod: 'ERR_UNKNOWN_METHOD',
  NameTaken: 'ERR_NAME_TAKEN',
  InvalidName: 'ERR_INVALID_NAME',
  StashFull: 'ERR_STASH_FULL',
  MessageTooLarge: 'ERR_MESSAGE_TOO_LARGE',
  NotSerializable: 'ERR_NOT_SERIALIZABLE',
  MalformedFrame: 'ERR_MALFORMED_FRAME',
  ActorInit: 'ERR_ACTOR_INIT',
  SystemTerminated: 'ERR_SYSTEM_TERMINATED',
  NotInActor: 'ERR_NOT_IN_ACTOR',
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  HandlerFailed: 'ERR_HANDLER_FAILED',
  ActorKilled: 'ERR_ACTOR_KILLED',
  LinkedExit: 'ERR_LINKED_EXIT',
  /** Raised by the supervision layer; the user guardian escalates it to a system failure. */
  SupervisorGaveUp: 'ERR_SUPERVISOR_GAVE_UP',
  NodeDown: 'ERR_NODE_DOWN',
  ShardDown: 'ERR_SHARD_DOWN',
  OfferTimeout: 'ERR_OFFER_TIMEOUT',
} as const
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** The target mailbox is full and its overflow policy is `reject`. */
export const MailboxFullError = defineError(ErrorCodes.MailboxFull, 'MailboxFullError')
export type MailboxFullError = InstanceType<typeof MailboxFullError>
/** No reply arrived within the ask's timeout. */
export const AskTimeoutError = defineError(ErrorCodes.AskTimeout, 'AskTimeoutError')
export type AskTimeoutError = InstanceType<typeof AskTimeoutError>
/** The target stopped before it handled the message. */
export const ActorStoppedError = defineError(ErrorCodes.ActorStopped, 'ActorStoppedError')
export type ActorStoppedError = InstanceType<typeof ActorStoppedError>
/** No actor lives at the address. */
export const UnknownActorError = defineError(ErrorCodes.UnknownActor, 'UnknownActorError')
export type UnknownActorError = InstanceType<typeof UnknownActorError>
/** The actor has no handler of that name. */
export const UnknownMethodError = defineError(ErrorCodes.UnknownMethod, 'UnknownMethodError')
export type UnknownMethodError = InstanceType<typeof UnknownMethodError>
/** A name is already registered, or a sibling already uses it. */
export const NameTakenError = defineError(ErrorCodes.NameTaken, 'NameTakenError')
export type NameTakenError = InstanceType<typeof NameTakenError>
/** A name contains characters that would break actor paths. */
export const InvalidNameError = defineError(ErrorCodes.InvalidName, 'InvalidNameError')
export type InvalidNameError = InstanceType<typeof InvalidNameError>
/** The actor's stash is at capacity. */
export const StashFullError = defineError(ErrorCodes.StashFull, 'StashFullError')
export type StashFullError = InstanceType<typeof StashFullError>
/** An encoded envelope exceeds the codec's size limit. */
export const MessageTooLargeError = defineError(ErrorCodes.MessageTooLarge, 'MessageTooLargeError')
export type MessageTooLargeError = InstanceType<typeof MessageTooLargeError>
/** A payload holds something the codec cannot carry across a boundary (function, symbol, class instance). */
export const NotSerializableError = defineError(ErrorCodes.NotSerializable, 'NotSerializableError')
export type NotSerializableError = InstanceType<typeof NotSerializableError>
/** Bytes that do not decode to an envelope. */
export const MalformedFrameError = defineError(ErrorCodes.MalformedFrame, 'MalformedFrameError')
export type MalformedFrameError = InstanceType<typeof MalformedFrameError>
/** The actor's constructor or `preStart` failed. */
export const ActorInitError = defineError(ErrorCodes.ActorInit, 'ActorInitError')
export type ActorInitError = InstanceType<typeof ActorInitError>
/** The actor system has terminated. */
export const SystemTerminatedError = defineError(ErrorCodes.SystemTerminated, 'SystemTerminatedError')
export type SystemTerminatedError = InstanceType<typeof SystemTerminatedError>
/** An actor-only operation was called outside a message handler. */
export const NotInActorError = defineError(ErrorCodes.NotInActor, 'NotInActorError')
export type NotInActorError = InstanceType<typeof NotInActorError>
/** An option or argument is out of range. */
export const InvalidArgumentError = defineError(ErrorCodes.InvalidArgument, 'InvalidArgumentError')
export type InvalidArgumentError = InstanceType<typeof InvalidArgumentError>
/** A handler failed with something that was not an Error (a thrown string, say), wrapped so it has a code. */
export const HandlerFailedError = defineError(ErrorCodes.HandlerFailed, 'HandlerFailedError')
export type HandlerFailedError = InstanceType<typeof HandlerFailedError>
/** The actor was killed without finishing its current message. */
export const ActorKilledError = defineError(ErrorCodes.ActorKilled, 'ActorKilledError')
export type ActorKilledError = InstanceType<typeof ActorKilledError>

/** A linked actor exited abnormally and this actor does not trap exits; `cause` is the linked actor's failure. */
export const LinkedExitError = defineError(ErrorCodes.LinkedExit, 'LinkedExitError')
export type LinkedExitError = InstanceType<typeof LinkedExitError>

/** The target's node is down: pending asks to it fail fast with this instead of timing out. */
export const NodeDownError = defineError(ErrorCodes.NodeDown, 'NodeDownError')
export type NodeDownError = InstanceType<typeof NodeDownError>
/** The target's shard (worker thread) crashed: pending asks to it fail fast with this. */
export const ShardDownError = defineError(ErrorCodes.ShardDown, 'ShardDownError')
export type ShardDownError = InstanceType<typeof ShardDownError>

/** A remote `offer` waited for room toward its target (transport credit) longer than its timeout; the message was not sent. */
export const OfferTimeoutError = defineError(ErrorCodes.OfferTimeout, 'OfferTimeoutError')
export type OfferTimeoutError = InstanceType<typeof OfferTimeoutError>

/** Turns anything thrown into an Error; non-errors are wrapped so every failure carries a code. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  return new HandlerFailedError(`handler threw a non-error value: ${String(thrown)}`, { data: thrown })
}

export function errorCode(error: unknown): string {
  if (error instanceof TroupeError) return error.code
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    return (error as { code: string }).code
  }
  return ErrorCodes.HandlerFailed
}

/** The form an error takes when it crosses a thread or a node. */
export function encodeError(error: unknown): EncodedError {
  const err = toError(error)
  const data = err instanceof TroupeError ? err.data : undefined
  const encoded: { code: string; name: string; message: string; data?: unknown } = {
    code: errorCode(err),
    name: err.name,
    message: err.message,
  }
  if (data !== undefined) encoded.data = data
  return encoded
}

/** Rebuilds an error from its encoded form: a known code gives its class back, an unknown one a TroupeError. */
export function decodeError(encoded: EncodedError): TroupeError {
  const ErrorClass = errorClassesByCode.get(encoded.code)
  const options = encoded.data === undefined ? undefined : { data: encoded.data }
  const error = ErrorClass ? new ErrorClass(encoded.message, options) : new TroupeError(encoded.code, encoded.message, options)
  if (!ErrorClass && typeof encoded.name === 'string') error.name = encoded.name
  return error
}

/** Lets other layers register their error classes so `decodeError` rebuilds them too. */
export function registerErrorCode(code: string, ErrorClass: new (message: string, options?: ErrorOptions) => TroupeError): void {
  errorClassesByCode.set(code, ErrorClass)
}

export { defineError }
