/**
 * Public entry point of the component layer (`troupe/actors`): built-in actors (circuit breaker,
 * rate limiters, service clients, sandbox, …), each an actor under a supervisor. Imports only the
 * layers to its left (runtime, supervision, transport, cluster).
 */
export { ActorsErrorCodes } from './errors.ts'

// --- Rate limiters (actors/limiter) ---
export {
  ConcurrencyLimitedError,
  LimiterContentionError,
  LimiterErrorCodes,
  LimiterInvalidError,
  LimiterUnavailableError,
  RateLimitedError,
} from './errors.ts'
export type { Decision, DecisionSource } from './limiter/Decision.ts'
export type {
  AlgorithmSpec,
  FixedWindowSpec,
  GcraSpec,
  LimiterSpec,
  SlidingLogSpec,
  SlidingWindowSpec,
  StoreOptions,
  TokenBucketSpec,
} from './limiter/LimiterSpec.ts'
export { limiterSpecProblems, validateLimiterSpec } from './limiter/LimiterSpec.ts'
export type { LimiterStore, MaybePromise } from './limiter/LimiterStore.ts'
export { LocalLimiter } from './limiter/LocalLimiter.ts'
export { RedisLimiter } from './limiter/RedisLimiter.ts'
export type { RedisLimiterOptions } from './limiter/RedisLimiter.ts'
export { RateLimiter } from './limiter/RateLimiter.ts'
export type { FailurePolicy, LimiterStats, RateLimiterOptions } from './limiter/RateLimiter.ts'
export { RateLimiterActor } from './limiter/RateLimiterActor.ts'
export type { RateLimiterActorOptions, RateLimiterProtocol } from './limiter/RateLimiterActor.ts'
export { LimiterMetrics } from './limiter/LimiterMetrics.ts'
export { ConcurrencyLimiter, ConcurrencyLimiterActor, withPermit } from './limiter/ConcurrencyLimiter.ts'
export type { ConcurrencyLimiterOptions, ConcurrencyLimiterProtocol, ConcurrencyStats, Permit } from './limiter/ConcurrencyLimiter.ts'
