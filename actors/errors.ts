/**
 * Errors of the built-in component actors. Each component adds its codes here, so that one table
 * lists every code the `troupe/actors` entry can raise.
 */
import { defineError, defineRejection, registerErrorCode, Rejection } from '../runtime/index.ts'

export const ActorsErrorCodes = {
  // Circuit breaker (actors/breaker)
  CallNotPermitted: 'ERR_CALL_NOT_PERMITTED',
  BreakerCallTimeout: 'ERR_BREAKER_CALL_TIMEOUT',
  BreakerInvalidConfig: 'ERR_BREAKER_INVALID_CONFIG',
  BreakerStopped: 'ERR_BREAKER_STOPPED',
  BreakerBadMessage: 'ERR_BREAKER_BAD_MESSAGE',
} as const

// ── Circuit breaker ─────────────────────────────────────────────────────────────────────────────

/** What a rejected call learns: which breaker, in which state, and when to try again. */
export interface CallNotPermittedData {
  readonly breaker: string
  /** `open`, `half_open` (its permits are taken) or `forced_open`. */
  readonly state: string
  /** Milliseconds until the breaker lets a call through again (an estimate in half-open; Infinity while forced open). */
  readonly retryAfterMs: number
}

/**
 * The breaker refused the call (resilience4j's CallNotPermittedException, Polly's
 * BrokenCircuitException). A Rejection: an ask that gets it leaves the breaker actor running. The
 * fields live in `data`, so they survive a hop between threads or nodes (rebuilt from the code).
 */
export class CallNotPermittedError extends Rejection {
  declare readonly code: typeof ActorsErrorCodes.CallNotPermitted
  declare readonly data: CallNotPermittedData
  constructor(message: string, options?: { cause?: unknown; data?: unknown }) {
    super(ActorsErrorCodes.CallNotPermitted, message, options)
    this.name = 'CallNotPermittedError'
  }
  get breaker(): string {
    return this.data.breaker
  }
  get state(): string {
    return this.data.state
  }
  get retryAfterMs(): number {
    return this.data.retryAfterMs
  }
}
registerErrorCode(ActorsErrorCodes.CallNotPermitted, CallNotPermittedError)

/** A protected call outlived the breaker's `callTimeoutMs`; it counted as a failure at the deadline. `data`: `{ breaker, timeoutMs }`. */
export const BreakerCallTimeoutError = defineError(ActorsErrorCodes.BreakerCallTimeout, 'BreakerCallTimeoutError')
export type BreakerCallTimeoutError = InstanceType<typeof BreakerCallTimeoutError>
/** Breaker options are invalid; the message and `data.problems` list every problem found. */
export const InvalidBreakerConfigError = defineRejection(ActorsErrorCodes.BreakerInvalidConfig, 'InvalidBreakerConfigError')
export type InvalidBreakerConfigError = InstanceType<typeof InvalidBreakerConfigError>
/** The breaker actor has stopped: its clients refuse calls rather than run them unguarded. `data`: `{ breaker }`. */
export const BreakerStoppedError = defineError(ActorsErrorCodes.BreakerStopped, 'BreakerStoppedError')
export type BreakerStoppedError = InstanceType<typeof BreakerStoppedError>
/** A message to a breaker actor with malformed fields (an unknown outcome, a report that is not arrays, …); refused, the breaker carries on. `data.method`. */
export const BreakerBadMessageError = defineRejection(ActorsErrorCodes.BreakerBadMessage, 'BreakerBadMessageError')
export type BreakerBadMessageError = InstanceType<typeof BreakerBadMessageError>

/** WASM sandbox (`actors/wasm`): every refusal of a module or a call, and the loss of a worker. */
export const WasmErrorCodes = {
  Invalid: 'ERR_WASM_INVALID',
  TooLarge: 'ERR_WASM_TOO_LARGE',
  Unsupported: 'ERR_WASM_UNSUPPORTED',
  ImportDenied: 'ERR_WASM_IMPORT_DENIED',
  MemoryLimit: 'ERR_WASM_MEMORY_LIMIT',
  Instrument: 'ERR_WASM_INSTRUMENT',
  UnknownModule: 'ERR_WASM_UNKNOWN_MODULE',
  BadCall: 'ERR_WASM_BAD_CALL',
  BadOptions: 'ERR_WASM_BAD_OPTIONS',
  WorkerLost: 'ERR_WASM_WORKER_LOST',
} as const

// --- Rate limiters (actors/limiter) ---

/** Stable codes of the rate limiters and the concurrency limiter (actors/limiter). */
export const LimiterErrorCodes = {
  Invalid: 'ERR_LIMITER_INVALID',
  RateLimited: 'ERR_RATE_LIMITED',
  Unavailable: 'ERR_LIMITER_UNAVAILABLE',
  Contention: 'ERR_LIMITER_CONTENTION',
  ConcurrencyLimited: 'ERR_CONCURRENCY_LIMITED',
} as const

/** A limiter option or a call argument is out of range (a negative cost, a zero rate, an empty key). Nothing was consumed. */
export const LimiterInvalidError = defineRejection(LimiterErrorCodes.Invalid, 'LimiterInvalidError')
export type LimiterInvalidError = InstanceType<typeof LimiterInvalidError>
/** `consume` was refused; `data` is the Decision (retryAfterMs says when to come back). Nothing was consumed. */
export const RateLimitedError = defineRejection(LimiterErrorCodes.RateLimited, 'RateLimitedError')
export type RateLimitedError = InstanceType<typeof RateLimitedError>
/** The backing store failed, no insurance limiter is configured and the failure policy is `error`. */
export const LimiterUnavailableError = defineRejection(LimiterErrorCodes.Unavailable, 'LimiterUnavailableError')
export type LimiterUnavailableError = InstanceType<typeof LimiterUnavailableError>
/** The store answered "try again" (cluster slot migration, busy script) more times than allowed: never turned into an allow. */
export const LimiterContentionError = defineError(LimiterErrorCodes.Contention, 'LimiterContentionError')
export type LimiterContentionError = InstanceType<typeof LimiterContentionError>
/** A concurrency permit could not be had: all permits held and the wait queue full, or the wait timed out. */
export const ConcurrencyLimitedError = defineRejection(LimiterErrorCodes.ConcurrencyLimited, 'ConcurrencyLimitedError')
export type ConcurrencyLimitedError = InstanceType<typeof ConcurrencyLimitedError>

// --- Service clients (actors/clients): PgPool, RedisClient ---

/** Stable codes of the PostgreSQL and Redis client actors. */
export const ClientErrorCodes = {
  InvalidConfig: 'ERR_CLIENT_INVALID_CONFIG',
  PgConnection: 'ERR_PG_CONNECTION',
  PgTimeout: 'ERR_PG_TIMEOUT',
  PgQuery: 'ERR_PG_QUERY',
  PgRolledBack: 'ERR_PG_ROLLED_BACK',
  PgClosed: 'ERR_PG_CLOSED',
  PgBadCall: 'ERR_PG_BAD_CALL',
  RedisConnection: 'ERR_REDIS_CONNECTION',
  RedisTimeout: 'ERR_REDIS_TIMEOUT',
  RedisCommand: 'ERR_REDIS_COMMAND',
  RedisClosed: 'ERR_REDIS_CLOSED',
  RedisBadCall: 'ERR_REDIS_BAD_CALL',
  ServiceUnhealthy: 'ERR_SERVICE_UNHEALTHY',
  Fenced: 'ERR_FENCED',
} as const

/** Client actor options are invalid; `data.problems` lists every problem. Nothing was started. */
export const ClientInvalidConfigError = defineRejection(ClientErrorCodes.InvalidConfig, 'ClientInvalidConfigError')
export type ClientInvalidConfigError = InstanceType<typeof ClientInvalidConfigError>
/** PostgreSQL could not be reached or the connection broke (refused, reset, terminated). `data`: `{ client, reason }` (a socket errno or SQLSTATE class 08/57P). */
export const PgConnectionError = defineRejection(ClientErrorCodes.PgConnection, 'PgConnectionError')
export type PgConnectionError = InstanceType<typeof PgConnectionError>
/** A checkout or a query outlived its deadline. `data`: `{ client, phase: 'checkout' | 'query' }`. */
export const PgTimeoutError = defineRejection(ClientErrorCodes.PgTimeout, 'PgTimeoutError')
export type PgTimeoutError = InstanceType<typeof PgTimeoutError>
/** The server refused the statement. `data`: `{ client, sqlstate, severity, detail?, constraint?, table?, column?, position? }`. */
export const PgQueryError = defineRejection(ClientErrorCodes.PgQuery, 'PgQueryError')
export type PgQueryError = InstanceType<typeof PgQueryError>
/** A transaction's function failed with an error of its own; the transaction was rolled back. The function's error is `cause`; `data`: `{ client, name, message }`. */
export const PgRolledBackError = defineRejection(ClientErrorCodes.PgRolledBack, 'PgRolledBackError')
export type PgRolledBackError = InstanceType<typeof PgRolledBackError>
/** The pool is closing or closed: new calls are refused; a call still running at the drain deadline is cut off with this. */
export const PgClosedError = defineRejection(ClientErrorCodes.PgClosed, 'PgClosedError')
export type PgClosedError = InstanceType<typeof PgClosedError>
/** A malformed call (sql not a string, params not an array, a transaction body that is not a function). */
export const PgBadCallError = defineRejection(ClientErrorCodes.PgBadCall, 'PgBadCallError')
export type PgBadCallError = InstanceType<typeof PgBadCallError>
/** Redis could not be reached or the connection broke. `data`: `{ client, reason }`. */
export const RedisConnectionError = defineRejection(ClientErrorCodes.RedisConnection, 'RedisConnectionError')
export type RedisConnectionError = InstanceType<typeof RedisConnectionError>
/** A command outlived `commandTimeoutMs` (it may still run on the server). `data`: `{ client, timeoutMs }`. */
export const RedisTimeoutError = defineRejection(ClientErrorCodes.RedisTimeout, 'RedisTimeoutError')
export type RedisTimeoutError = InstanceType<typeof RedisTimeoutError>
/** Redis answered with an error reply. `data`: `{ client, prefix, command }` (`prefix`: WRONGTYPE, NOSCRIPT, BUSY, …). */
export const RedisCommandError = defineRejection(ClientErrorCodes.RedisCommand, 'RedisCommandError')
export type RedisCommandError = InstanceType<typeof RedisCommandError>
/** The client is closing or closed: new commands are refused; one still out at the drain deadline is cut off with this. */
export const RedisClosedError = defineRejection(ClientErrorCodes.RedisClosed, 'RedisClosedError')
export type RedisClosedError = InstanceType<typeof RedisClosedError>
/** A malformed call (a command name that is not a word, arguments that are not strings, numbers or buffers). */
export const RedisBadCallError = defineRejection(ClientErrorCodes.RedisBadCall, 'RedisBadCallError')
export type RedisBadCallError = InstanceType<typeof RedisBadCallError>
/** Raised by `assertReady` of a readiness check whose client is not healthy. `data`: `{ client, status, reason }`. */
export const ServiceUnhealthyError = defineRejection(ClientErrorCodes.ServiceUnhealthy, 'ServiceUnhealthyError')
export type ServiceUnhealthyError = InstanceType<typeof ServiceUnhealthyError>
/** A fenced write carried a token older than the highest its fence has seen; nothing was written. `data`: `{ client, name, token, highest }`. */
export const FencedError = defineRejection(ClientErrorCodes.Fenced, 'FencedError')
export type FencedError = InstanceType<typeof FencedError>

// --- Two-tier cache (actors/cache) ---

/** Stable codes of the two-tier cache (actors/cache). */
export const CacheErrorCodes = {
  InvalidConfig: 'ERR_CACHE_INVALID_CONFIG',
  BadCall: 'ERR_CACHE_BAD_CALL',
  LoadFailed: 'ERR_CACHE_LOAD_FAILED',
  LoadTimeout: 'ERR_CACHE_LOAD_TIMEOUT',
  L2Unavailable: 'ERR_CACHE_L2_UNAVAILABLE',
  Decode: 'ERR_CACHE_DECODE',
} as const

/** Cache options are invalid; `data.problems` lists every problem. Nothing was started. */
export const CacheInvalidConfigError = defineRejection(CacheErrorCodes.InvalidConfig, 'CacheInvalidConfigError')
export type CacheInvalidConfigError = InstanceType<typeof CacheInvalidConfigError>
/** A malformed call (an empty or non-string key, a loader that is not a function, no loader at all). `data.method`. */
export const CacheBadCallError = defineRejection(CacheErrorCodes.BadCall, 'CacheBadCallError')
export type CacheBadCallError = InstanceType<typeof CacheBadCallError>
/** The loader failed and no stale value could stand in (fail-safe off or past max-stale). The loader's error is `cause`; `data`: `{ cache, key }`. */
export const CacheLoadFailedError = defineRejection(CacheErrorCodes.LoadFailed, 'CacheLoadFailedError')
export type CacheLoadFailedError = InstanceType<typeof CacheLoadFailedError>
/** The load outlived its hard timeout and no stale value could stand in; the load may still complete and fill the cache. `data`: `{ cache, key, timeoutMs }`. */
export const CacheLoadTimeoutError = defineRejection(CacheErrorCodes.LoadTimeout, 'CacheLoadTimeoutError')
export type CacheLoadTimeoutError = InstanceType<typeof CacheLoadTimeoutError>
/** The L2 store (Redis) failed or timed out. The cache answers from L1 or the loader instead; callers see this only from `stats`-level paths that need L2. `data`: `{ cache, op }`. */
export const CacheL2UnavailableError = defineRejection(CacheErrorCodes.L2Unavailable, 'CacheL2UnavailableError')
export type CacheL2UnavailableError = InstanceType<typeof CacheL2UnavailableError>
/** Bytes read from L2 or the invalidation bus were not a value this cache wrote (wrong format byte, bad msgpack): counted, treated as a miss. `data`: `{ cache, source, reason }`. */
export const CacheDecodeError = defineRejection(CacheErrorCodes.Decode, 'CacheDecodeError')
export type CacheDecodeError = InstanceType<typeof CacheDecodeError>

// --- Task queue (actors/taskqueue) ---

/** Stable codes of the Redis Streams task queue (actors/taskqueue); the ones a task's DLQ record can carry too. */
export const TaskQueueErrorCodes = {
  Invalid: 'ERR_TASK_INVALID',
  TooLarge: 'ERR_TASK_TOO_LARGE',
  QueueFull: 'ERR_TASK_QUEUE_FULL',
  Unavailable: 'ERR_TASK_QUEUE_UNAVAILABLE',
  Malformed: 'ERR_TASK_MALFORMED',
  VisibilityTimeout: 'ERR_TASK_VISIBILITY_TIMEOUT',
  HandlerFailed: 'ERR_TASK_HANDLER_FAILED',
  LeaseLost: 'ERR_TASK_LEASE_LOST',
} as const

/** Task queue options or an enqueue argument are invalid (unknown priority, bad queue name, …); `data.problems` lists them. Nothing was enqueued. */
export const TaskInvalidError = defineRejection(TaskQueueErrorCodes.Invalid, 'TaskInvalidError')
export type TaskInvalidError = InstanceType<typeof TaskInvalidError>
/** The payload's JSON is larger than `maxPayloadBytes`. `data`: `{ bytes, limit }`. Nothing was enqueued. */
export const TaskTooLargeError = defineRejection(TaskQueueErrorCodes.TooLarge, 'TaskTooLargeError')
export type TaskTooLargeError = InstanceType<typeof TaskTooLargeError>
/** The queue holds `maxDepth` tasks (waiting + in flight + delayed) already. `data`: `{ queue, maxDepth }`. Nothing was enqueued. */
export const TaskQueueFullError = defineRejection(TaskQueueErrorCodes.QueueFull, 'TaskQueueFullError')
export type TaskQueueFullError = InstanceType<typeof TaskQueueFullError>
/** Redis failed or did not answer within `commandTimeoutMs`; the call may or may not have taken effect. `data`: `{ queue, op }`. */
export const TaskQueueUnavailableError = defineRejection(TaskQueueErrorCodes.Unavailable, 'TaskQueueUnavailableError')
export type TaskQueueUnavailableError = InstanceType<typeof TaskQueueUnavailableError>
/** A handler's own error, wrapped when it was not a TroupeError: DLQ records carry this code with the original message. */
export const TaskHandlerFailedError = defineRejection(TaskQueueErrorCodes.HandlerFailed, 'TaskHandlerFailedError')
export type TaskHandlerFailedError = InstanceType<typeof TaskHandlerFailedError>
/** The reason a running task's AbortSignal fires: its lease could not be renewed in time or another consumer took it over. */
export const TaskLeaseLostError = defineRejection(TaskQueueErrorCodes.LeaseLost, 'TaskLeaseLostError')
export type TaskLeaseLostError = InstanceType<typeof TaskLeaseLostError>
