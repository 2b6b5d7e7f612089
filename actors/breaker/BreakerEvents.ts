import type { BreakerState } from './BreakerOptions.ts'

/** Why a transition happened; one event per real transition carries it. */
export type TransitionReason =
  | 'failure_rate'
  | 'slow_call_rate'
  | 'wait_elapsed'
  | 'probes_failed'
  | 'probes_succeeded'
  | 'half_open_timeout'
  | 'forced_open'
  | 'disabled'
  | 'metrics_only'
  | 'closed_by_operator'
  | 'opened_by_operator'
  | 'reset'
  /** Adopted from a peer breaker of the same name (cluster-shared mode). */
  | 'peer'
  /** The actor restarted with `onRestart: 'reset'` and started closed. */
  | 'restarted'

export interface BreakerTransition {
  readonly breaker: string
  readonly from: BreakerState
  readonly to: BreakerState
  readonly reason: TransitionReason
  /** Clock time of the transition. */
  readonly at: number
  /** The breaker's epoch after the transition (it grows by one per transition). */
  readonly epoch: number
  /** For `open`: how long it stays open (after backoff and jitter). */
  readonly openForMs?: number
}

/** A breaker's state as callers mirror it (the fast path's broadcast) and as `snapshot` reports it. */
export interface BreakerSnapshot {
  readonly breaker: string
  readonly state: BreakerState
  readonly epoch: number
  /** Clock time when an open breaker lets probes through; -1 in other states. */
  readonly openUntil: number
  readonly calls: number
  readonly failedCalls: number
  readonly slowCalls: number
  /** Percentages of the calls in the window (half-open: of the probes); -1 below `minimumCalls`. */
  readonly failureRate: number
  readonly slowCallRate: number
  readonly halfOpenInFlight: number
  /** Failed recoveries in a row (what the open-interval backoff grows with). */
  readonly consecutiveOpens: number
  /** The configured slow-call threshold; clients size their duration ticks from it. */
  readonly slowCallDurationMs: number
}
