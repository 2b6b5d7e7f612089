import { LimiterInvalidError } from '../errors.ts'

/**
 * GCRA with redis-cell's parameters (`CL.THROTTLE key max_burst count period`): `countPerPeriod`
 * requests per `periodMs` on average, bursts of up to `maxBurst + 1`.
 */
export interface GcraSpec {
  readonly algorithm: 'gcra'
  readonly maxBurst: number
  readonly countPerPeriod: number
  readonly periodMs: number
}

/** A bucket of `capacity` tokens refilled continuously at `refillTokens` per `refillIntervalMs` (fractional tokens, ms resolution). */
export interface TokenBucketSpec {
  readonly algorithm: 'token-bucket'
  readonly capacity: number
  readonly refillTokens: number
  readonly refillIntervalMs: number
}

/** `limit` units per window; a key's window starts at its first request (rate-limiter-flexible style) and lasts `windowMs`. */
export interface FixedWindowSpec {
  readonly algorithm: 'fixed-window'
  readonly limit: number
  readonly windowMs: number
}

/** At most `limit` units in any `windowMs` interval, exactly: one log entry per unit (memory grows with the limit). */
export interface SlidingLogSpec {
  readonly algorithm: 'sliding-log'
  readonly limit: number
  readonly windowMs: number
}

/**
 * The sliding-window counter (Cloudflare's): windows aligned on multiples of `windowMs`, the previous
 * window's count weighted by how much of it still overlaps the sliding window. Two counters per key; approximate.
 */
export interface SlidingWindowSpec {
  readonly algorithm: 'sliding-window'
  readonly limit: number
  readonly windowMs: number
}

export type AlgorithmSpec = GcraSpec | TokenBucketSpec | FixedWindowSpec | SlidingLogSpec | SlidingWindowSpec

/** Options every store shares. */
export interface StoreOptions {
  /**
   * When > 0, a refused `limit` also blocks the key for this long (rate-limiter-flexible's
   * `blockDuration`): every request in that time is refused, whatever the algorithm says.
   */
  readonly blockDurationMs?: number
}

export type LimiterSpec = AlgorithmSpec & StoreOptions

const positive = (value: number): boolean => typeof value === 'number' && Number.isFinite(value) && value > 0
const wholePositive = (value: number): boolean => Number.isInteger(value) && value > 0

/** Every problem with a spec, as readable lines; empty when it is valid. */
export function limiterSpecProblems(spec: LimiterSpec): string[] {
  const problems: string[] = []
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what)
  }
  switch (spec.algorithm) {
    case 'gcra':
      need(Number.isInteger(spec.maxBurst) && spec.maxBurst >= 0, 'maxBurst must be an integer >= 0')
      need(wholePositive(spec.countPerPeriod), 'countPerPeriod must be an integer > 0 (zero rates are not supported)')
      need(positive(spec.periodMs), 'periodMs must be > 0')
      break
    case 'token-bucket':
      need(positive(spec.capacity), 'capacity must be > 0')
      need(positive(spec.refillTokens), 'refillTokens must be > 0')
      need(positive(spec.refillIntervalMs), 'refillIntervalMs must be > 0')
      break
    case 'fixed-window':
    case 'sliding-log':
    case 'sliding-window':
      need(wholePositive(spec.limit), 'limit must be an integer > 0')
      need(positive(spec.windowMs), 'windowMs must be > 0')
      break
    default:
      problems.push(`unknown algorithm '${String((spec as { algorithm?: unknown }).algorithm)}' (gcra, token-bucket, fixed-window, sliding-log, sliding-window)`)
  }
  const block = spec.blockDurationMs
  if (block !== undefined) need(typeof block === 'number' && Number.isFinite(block) && block >= 0, 'blockDurationMs must be >= 0')
  return problems
}

export function validateLimiterSpec(spec: LimiterSpec): void {
  const problems = limiterSpecProblems(spec)
  if (problems.length > 0) throw new LimiterInvalidError(`invalid limiter spec: ${problems.join('; ')}`, { data: { problems } })
}

/** The allowance of a fully rested key. */
export function limitOf(spec: AlgorithmSpec): number {
  switch (spec.algorithm) {
    case 'gcra':
      return spec.maxBurst + 1
    case 'token-bucket':
      return spec.capacity
    default:
      return spec.limit
  }
}

/** Checks a key and a cost (0 peeks; fractions only where the algorithm has fractional units). */
export function checkCall(key: string, cost: number, what = 'cost'): void {
  if (typeof key !== 'string' || key.length === 0) throw new LimiterInvalidError('the key must be a non-empty string')
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) throw new LimiterInvalidError(`${what} must be a finite number >= 0, got ${String(cost)}`)
}
