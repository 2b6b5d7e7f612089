/** Public entry point of the runtime layer (`troupe`). Internals stay internal. */
export { Actor, RESERVED_METHODS, withConstructionContext } from './Actor.ts'
export type { ActorClass, Directive, ProtocolOf, SpawnArgs, SpawnOptions, SpawnOptionsBase } from './Actor.ts'
export type { ActorContext } from './ActorContext.ts'
export { ActorRef } from './ActorRef.ts'
export type { AskOptions } from './ActorRef.ts'
export { formatAddress, parseAddress, sameAddress } from './ActorAddress.ts'
export type { ActorAddress } from './ActorAddress.ts'
export { ActorSystem, LifecycleTopic, SystemFailureTopic } from './ActorSystem.ts'
export type { ActorInfo, ActorSystemOptions, LifecycleEvent, MailboxHooks, RemoteRouter, SystemFailure } from './ActorSystem.ts'
export type { Clock, TimerHandle } from './Clock.ts'
export { silentLogger } from './Logger.ts'
export type { Logger } from './Logger.ts'
export { RATE_LIMIT_INTERVAL_MS, RateLimitedLog } from './RateLimitedLog.ts'
export { combineInstrumentation } from './Instrumentation.ts'
export type { Instrumentation } from './Instrumentation.ts'
export { ActorTypeCounts } from './HandlerCounting.ts'
export type { HandlerCounting, SendSampling } from './HandlerCounting.ts'
export { SystemClock } from './SystemClock.ts'
export type { Random } from './Random.ts'
export { SeededRandom } from './Random.ts'
export { SystemRandom } from './SystemRandom.ts'
export type { IdSource } from './IdSource.ts'
export { SequentialIds } from './IdSource.ts'
export type { Runnable, Scheduler } from './Scheduler.ts'
export { RealScheduler } from './RealScheduler.ts'
export type { RealSchedulerOptions } from './RealScheduler.ts'
export { Envelope, EnvelopeKind } from './Envelope.ts'
export type { Headers } from './Envelope.ts'
export { Codec, DEFAULT_MAX_MESSAGE_BYTES } from './Codec.ts'
export { assertSerializable } from './Serializable.ts'
export { validateMsgpack } from './MsgpackGuard.ts'
export type { MsgpackGuardOptions } from './MsgpackGuard.ts'
export { malformedReason } from './FrameValidation.ts'
export type { CodecOptions } from './Codec.ts'
export { DEFAULT_MAILBOX_CAPACITY } from './Mailbox.ts'
export type { MailboxOptions, OverflowPolicy } from './Mailbox.ts'
export { mailboxDepth } from './MailboxDepth.ts'
export { DeadLetterTopic } from './DeadLetters.ts'
export type { DeadLetter, DeadLetterReason } from './DeadLetters.ts'
export { EventStream, topic } from './EventStream.ts'
export type { EventListener, Subscription, Topic } from './EventStream.ts'
export { Registry } from './Registry.ts'
export { Timers } from './Timers.ts'
export { ExitReasons, isNormalExit } from './ExitReason.ts'
export type { ExitReason, Terminated } from './ExitReason.ts'
export type { Message, MethodArgs, MethodName, MethodReply } from './Protocol.ts'
export {
  ActorInitError,
  ActorKilledError,
  ActorStoppedError,
  AskTimeoutError,
  decodeError,
  defineError,
  defineRejection,
  Rejection,
  errorCode,
  encodeError,
  ErrorCodes,
  HandlerFailedError,
  InvalidArgumentError,
  InvalidNameError,
  LinkedExitError,
  MailboxFullError,
  MalformedFrameError,
  MessageTooLargeError,
  NameTakenError,
  NodeDownError,
  ShardDownError,
  NotInActorError,
  NotSerializableError,
  OfferTimeoutError,
  registerErrorCode,
  StashFullError,
  SystemTerminatedError,
  toError,
  TroupeError,
  UnknownActorError,
  UnknownMethodError,
} from './errors.ts'
export type { EncodedError, ErrorCode } from './errors.ts'
