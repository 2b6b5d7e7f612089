import type { Decision } from './Decision.ts'

export type MaybePromise<T> = T | Promise<T>

/**
 * The port every limiter store implements: in-actor (LocalLimiter, exact, on the injected clock)
 * and Redis (RedisLimiter, one atomic Lua script per call, on Redis `TIME`). RateLimiter adds the
 * rate-limiter-flexible conveniences (in-memory block, execute-evenly, insurance, failure policy)
 * around either.
 */
export interface LimiterStore {
  /** The allowance of a fully rested key. */
  readonly limit: number
  /** Checks and, if allowed, consumes `cost` (0 peeks) in one atomic step. A refusal consumes nothing. */
  decide(key: string, cost: number): MaybePromise<Decision>
  /** Consumes `delta` whatever the limit (a penalty), or gives `-delta` back (a reward); answers a peek after it. */
  adjust(key: string, delta: number): MaybePromise<Decision>
  /** A peek at the key, or null when it has no state and no block (fully rested). */
  get(key: string): MaybePromise<Decision | null>
  /** Replaces the key's state by `consumed` units used now; with `durationMs`, the key rests fully after that long. */
  set(key: string, consumed: number, durationMs?: number): MaybePromise<Decision>
  /** Forgets the key's state and block; true when there was something to forget. */
  delete(key: string): MaybePromise<boolean>
  /** Refuses every request for the key during `durationMs`. */
  block(key: string, durationMs: number): MaybePromise<Decision>
}
