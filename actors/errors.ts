/**
 * Errors of the built-in component actors. Each component adds its codes here, so that one table
 * lists every code the `troupe/actors` entry can raise.
 */
export const ActorsErrorCodes = {} as const

// --- Rate limiters (actors/limiter) ---
import { defineError as defineLimiterError, defineRejection as defineLimiterRejection } from '../runtime/index.ts'

/** Stable codes of the rate limiters and the concurrency limiter (actors/limiter). */
export const LimiterErrorCodes = {
  Invalid: 'ERR_LIMITER_INVALID',
  RateLimited: 'ERR_RATE_LIMITED',
  Unavailable: 'ERR_LIMITER_UNAVAILABLE',
  Contention: 'ERR_LIMITER_CONTENTION',
  ConcurrencyLimited: 'ERR_CONCURRENCY_LIMITED',
} as const

/** A limiter option or a call argument is out of range (a negative cost, a zero rate, an empty key). Nothing was consumed. */
export const LimiterInvalidError = defineLimiterRejection(LimiterErrorCodes.Invalid, 'LimiterInvalidError')
export type LimiterInvalidError = InstanceType<typeof LimiterInvalidError>
/** `consume` was refused; `data` is the Decision (retryAfterMs says when to come back). Nothing was consumed. */
export const RateLimitedError = defineLimiterRejection(LimiterErrorCodes.RateLimited, 'RateLimitedError')
export type RateLimitedError = InstanceType<typeof RateLimitedError>
/** The backing store failed, no insurance limiter is configured and the failure policy is `error`. */
export const LimiterUnavailableError = defineLimiterRejection(LimiterErrorCodes.Unavailable, 'LimiterUnavailableError')
export type LimiterUnavailableError = InstanceType<typeof LimiterUnavailableError>
/** The store answered "try again" (cluster slot migration, busy script) more times than allowed: never turned into an allow. */
export const LimiterContentionError = defineLimiterError(LimiterErrorCodes.Contention, 'LimiterContentionError')
export type LimiterContentionError = InstanceType<typeof LimiterContentionError>
/** A concurrency permit could not be had: all permits held and the wait queue full, or the wait timed out. */
export const ConcurrencyLimitedError = defineLimiterRejection(LimiterErrorCodes.ConcurrencyLimited, 'ConcurrencyLimitedError')
export type ConcurrencyLimitedError = InstanceType<typeof ConcurrencyLimitedError>
