/** Where a decision came from: the limiter's own store, or one of the fallbacks around it. */
export type DecisionSource =
  /** The limiter's store (in-actor state, or the Redis script). */
  | 'store'
  /** The in-memory block shortcut: refused without asking the store. */
  | 'memory-block'
  /** The store failed; the insurance (local) limiter decided. */
  | 'insurance'
  /** The store failed and the policy is fail-open: allowed without a check (counted, never silent). */
  | 'fail-open'
  /** The store failed and the policy is fail-closed: refused without a check. */
  | 'fail-closed'
  /** Allowed from tokens a LeasedLimiter took from its store earlier (no store call). */
  | 'lease'

/**
 * One rate-limit answer, the same for every algorithm and store.
 *
 * Times: `retryAfterMs` and `resetAfterMs` are durations, valid on any clock; `resetAtMs` is the
 * instant on the limiter's clock (the injected Clock locally, Redis `TIME` for the Redis store).
 */
export interface Decision {
  readonly allowed: boolean
  /** How much more could pass right now after this request (whole units, never negative). */
  readonly remaining: number
  /** The allowance a key has when it is fully rested (GCRA: max_burst + 1). */
  readonly limit: number
  /** 0 when allowed; else ms until the same request could pass; -1 when it never can (cost above the limit). */
  readonly retryAfterMs: number
  /** ms until the key is fully rested (its state expires). */
  readonly resetAfterMs: number
  /** `now + resetAfterMs` on the limiter's clock. */
  readonly resetAtMs: number
  readonly source: DecisionSource
}

/** What an algorithm answers before the store adds its clock and source. */
export interface Verdict {
  readonly allowed: boolean
  readonly remaining: number
  readonly retryAfter: number
  readonly resetAfter: number
}

export function toDecision(verdict: Verdict, limit: number, now: number, source: DecisionSource = 'store'): Decision {
  return {
    allowed: verdict.allowed,
    remaining: verdict.remaining,
    limit,
    retryAfterMs: verdict.retryAfter,
    resetAfterMs: verdict.resetAfter,
    resetAtMs: now + verdict.resetAfter,
    source,
  }
}
