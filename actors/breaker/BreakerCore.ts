import type { Clock, Random } from '../../runtime/index.ts'
import type { CallNotPermittedData } from '../errors.ts'
import type { BreakerSnapshot, BreakerTransition, TransitionReason } from './BreakerEvents.ts'
import type { BreakerState, CallOutcome, ResolvedBreakerOptions } from './BreakerOptions.ts'
import { CountWindow, TimeWindow, type SlidingWindow } from './SlidingWindow.ts'

/** Outcome counters since the breaker was made, read by the metrics at scrape time. */
export interface BreakerCounters {
  success: number
  failure: number
  slowSuccess: number
  slowFailure: number
  ignored: number
  timeout: number
  rejectedOpen: number
  rejectedHalfOpen: number
  rejectedForcedOpen: number
}

/** `acquire` results besides a tracked half-open permit id (> 0). */
export const UNTRACKED_PERMIT = 0
export const REJECTED = -1

/**
 * The breaker's state machine: pure logic on an injected Clock and Random, no I/O, no timers of its
 * own. The actor drives it (arms a timer at `nextDeadline()` and calls `tick`); callers ask for a
 * permit (`acquire`) and report each permitted call once (`complete`). Every permit carries the epoch
 * it was granted in; an outcome from an older epoch is counted in the metrics but never judged, so a
 * call that started before a transition cannot sway the state after it.
 */
export class BreakerCore {
  readonly options: ResolvedBreakerOptions
  readonly counters: BreakerCounters = {
    success: 0,
    failure: 0,
    slowSuccess: 0,
    slowFailure: 0,
    ignored: 0,
    timeout: 0,
    rejectedOpen: 0,
    rejectedHalfOpen: 0,
    rejectedForcedOpen: 0,
  }
  private current: BreakerState = 'closed'
  private epochValue = 0
  private readonly window: SlidingWindow
  private openUntil = -1
  private consecutiveOpens = 0
  private halfOpenSince = 0
  /** Half-open: recorded probes and their failed and slow ones. */
  private probesRecorded = 0
  private probesFailed = 0
  private probesSlow = 0
  /** Half-open permits granted and not yet completed, by id. */
  private readonly inFlight = new Set<number>()
  private nextPermitId = 1
  /** Single-probe mode: when the probe in flight may be replaced by a new one (Polly). */
  private probeReplaceAt = 0
  /** Single-probe mode: the probe presumed lost; its late outcome still counts, once. */
  private replacedProbe = 0

  private readonly clock: Clock
  private readonly random: Random
  private readonly onTransition: (transition: BreakerTransition) => void

  /** `initialEpoch`: a restarted breaker that starts afresh continues its predecessor's epochs, so no old permit matches a new epoch. */
  constructor(options: ResolvedBreakerOptions, clock: Clock, random: Random, onTransition: (transition: BreakerTransition) => void, initialEpoch = 0) {
    this.options = options
    this.epochValue = initialEpoch
    this.clock = clock
    this.random = random
    this.onTransition = onTransition
    this.window = options.windowType === 'count' ? new CountWindow(options.windowSize) : new TimeWindow(options.windowSize)
  }

  get state(): BreakerState {
    return this.current
  }

  get epoch(): number {
    return this.epochValue
  }

  get halfOpenInFlight(): number {
    return this.inFlight.size
  }

  /**
   * Asks to run one call: a half-open permit id (> 0, must be completed), UNTRACKED_PERMIT (closed,
   * disabled, metrics-only: complete it to have it counted) or REJECTED (see `rejection()`).
   */
  acquire(): number {
    this.tick()
    switch (this.current) {
      case 'closed':
      case 'disabled':
      case 'metrics_only':
        return UNTRACKED_PERMIT
      case 'open':
        this.counters.rejectedOpen++
        return REJECTED
      case 'forced_open':
        this.counters.rejectedForcedOpen++
        return REJECTED
      case 'half_open':
        return this.acquireProbe()
    }
  }

  private acquireProbe(): number {
    const permitted = this.options.permittedCallsInHalfOpen
    if (this.options.singleProbe && this.inFlight.size === 1 && this.clock.now() >= this.probeReplaceAt) {
      // The probe has been out for a whole open interval: presume it lost and let another through.
      this.replacedProbe = this.inFlight.values().next().value as number
      this.inFlight.clear()
    }
    if (this.inFlight.size + this.probesRecorded >= permitted) {
      this.counters.rejectedHalfOpen++
      return REJECTED
    }
    const id = this.nextPermitId++
    this.inFlight.add(id)
    if (this.options.singleProbe) this.probeReplaceAt = this.clock.now() + this.openInterval(false)
    return id
  }

  /** Why the last `acquire` was refused, and when to come back. */
  rejection(): CallNotPermittedData {
    const now = this.clock.now()
    let retryAfterMs: number
    if (this.current === 'open') retryAfterMs = Math.max(0, this.openUntil - now)
    else if (this.current === 'forced_open') retryAfterMs = Number.POSITIVE_INFINITY
    else retryAfterMs = this.halfOpenRetryAfter(now)
    return { breaker: this.options.name, state: this.current, retryAfterMs }
  }

  /** Half-open with every permit taken: a probe frees up when one finishes; bounded by the half-open deadline. */
  private halfOpenRetryAfter(now: number): number {
    const o = this.options
    let hint = o.slowCallDurationMs > 0 ? o.slowCallDurationMs : o.waitInOpenMs
    if (o.singleProbe) hint = Math.min(hint, Math.max(0, this.probeReplaceAt - now))
    if (o.maxWaitInHalfOpenMs > 0) hint = Math.min(hint, Math.max(0, this.halfOpenSince + o.maxWaitInHalfOpenMs - now))
    return hint
  }

  /**
   * Reports one permitted call. `permit` is what `acquire` returned (UNTRACKED_PERMIT for the
   * fast path's closed-state calls), `epoch` the epoch it was granted in. A tracked permit is
   * released whatever the outcome, ignored errors included; completing it twice does nothing.
   */
  complete(epoch: number, permit: number, outcome: CallOutcome, durationMs: number): void {
    if (permit > 0 && !this.inFlight.delete(permit)) {
      if (permit === this.replacedProbe) this.replacedProbe = 0
      else if (epoch === this.epochValue) return // completed twice
    }
    const slow = durationMs > this.options.slowCallDurationMs
    this.count(outcome, slow)
    if (epoch !== this.epochValue || outcome === 'ignored') return
    // Half-open judges only the probes it granted (a permit-less report cannot close it).
    if (permit <= 0 && this.current === 'half_open') return
    this.record(outcome !== 'success', slow, this.clock.now())
  }

  /**
   * Counts calls the fast path reports in bulk (closed-state permits), then judges them as one:
   * first `successes` successes that were not slow, then the listed outcomes in order.
   */
  completeBatch(epoch: number, successes: number, outcomes: ArrayLike<number>, durations: ArrayLike<number>, length: number): void {
    // One clock read per batch: the calls of one report land in the same second bucket.
    const now = this.clock.now()
    if (successes > 0) this.recordSuccesses(epoch, successes, now)
    for (let i = 0; i < length; i++) {
      const outcome = OUTCOMES[outcomes[i] as number] as CallOutcome
      if (outcome === undefined) continue // not an outcome code: a malformed report entry counts for nothing
      const slow = (durations[i] as number) > this.options.slowCallDurationMs
      this.count(outcome, slow)
      if (epoch === this.epochValue && outcome !== 'ignored' && this.current !== 'half_open') this.record(outcome !== 'success', slow, now)
    }
  }

  /**
   * `n` fast successes in a row. While they enter the window the failure and slow rates can only fall
   * (calls grow, or a full window drops an older entry), so the breaker is judged once, at the first
   * success that brings the window to `minimumCalls`: the same verdict as judging after each.
   */
  private recordSuccesses(epoch: number, n: number, now: number): void {
    this.counters.success += n
    if (epoch !== this.epochValue) return
    const state = this.current
    if (state !== 'closed' && state !== 'metrics_only') return
    const w = this.window
    let judged = state !== 'closed'
    for (let i = 0; i < n; i++) {
      w.record(now, false, false)
      if (!judged && w.calls >= this.options.minimumCalls) {
        judged = true
        this.judgeClosed()
        if (this.current !== 'closed') return
      }
    }
  }

  /** Rejections a fast-path client made on its own (from the mirrored state), for the metrics. */
  countRejections(open: number, halfOpen: number, forcedOpen: number): void {
    this.counters.rejectedOpen += open
    this.counters.rejectedHalfOpen += halfOpen
    this.counters.rejectedForcedOpen += forcedOpen
  }

  private count(outcome: CallOutcome, slow: boolean): void {
    const c = this.counters
    if (outcome === 'success') {
      if (slow) c.slowSuccess++
      else c.success++
    } else if (outcome === 'failure') {
      if (slow) c.slowFailure++
      else c.failure++
    } else if (outcome === 'timeout') c.timeout++
    else c.ignored++
  }

  private record(failed: boolean, slow: boolean, now: number): void {
    switch (this.current) {
      case 'closed':
      case 'metrics_only':
        this.window.record(now, failed, slow)
        if (this.current === 'closed') this.judgeClosed()
        return
      case 'half_open':
        this.probesRecorded++
        if (failed) this.probesFailed++
        if (slow) this.probesSlow++
        if (this.probesRecorded >= this.options.permittedCallsInHalfOpen) this.judgeProbes()
        return
      default:
        return
    }
  }

  private judgeClosed(): void {
    const w = this.window
    if (w.calls < this.options.minimumCalls) return
    if (w.failed * 100 >= this.options.failureRateThreshold * w.calls) this.open('failure_rate', false)
    else if (w.slow * 100 >= this.options.slowCallRateThreshold * w.calls) this.open('slow_call_rate', false)
  }

  private judgeProbes(): void {
    const n = this.probesRecorded
    const failedOut = this.probesFailed * 100 >= this.options.failureRateThreshold * n
    const slowOut = this.probesSlow * 100 >= this.options.slowCallRateThreshold * n
    if (failedOut || slowOut) this.open('probes_failed', true)
    else this.transition('closed', 'probes_succeeded')
  }

  /** Applies what time alone decides: open → half-open when the interval ends, half-open → open past its deadline. */
  tick(): void {
    if (this.current === 'open') {
      if (this.clock.now() >= this.openUntil) this.transition('half_open', 'wait_elapsed')
    } else if (this.current === 'half_open') {
      const max = this.options.maxWaitInHalfOpenMs
      if (max > 0 && this.inFlight.size > 0 && this.clock.now() >= this.halfOpenSince + max) this.open('half_open_timeout', true)
    }
  }

  /** When `tick` next has something to do (clock time), or -1. */
  nextDeadline(): number {
    if (this.current === 'open') return this.openUntil
    if (this.current === 'half_open' && this.options.maxWaitInHalfOpenMs > 0 && this.inFlight.size > 0) return this.halfOpenSince + this.options.maxWaitInHalfOpenMs
    return -1
  }

  // Operator calls. Each returns whether the state changed (a call that changes nothing emits nothing).
  forceOpen(): boolean {
    return this.transition('forced_open', 'forced_open')
  }
  disable(): boolean {
    return this.transition('disabled', 'disabled')
  }
  metricsOnly(): boolean {
    return this.transition('metrics_only', 'metrics_only')
  }
  close(): boolean {
    return this.transition('closed', 'closed_by_operator')
  }
  /** Opens now for one open interval, as if the thresholds had been crossed. */
  trip(): boolean {
    if (this.current === 'open') return false
    this.open('opened_by_operator', false)
    return true
  }
  /** Back to closed with an empty window and the backoff forgotten (resilience4j's reset). */
  reset(): boolean {
    this.consecutiveOpens = 0
    const changed = this.transition('closed', 'reset')
    if (!changed) this.window.reset()
    return changed
  }

  /**
   * Takes on a state a peer breaker published (cluster-shared mode). `open` keeps this breaker open
   * for `openForMs` (an open breaker only extends its interval: no transition); `half_open` is never
   * shared (every breaker probes for itself). Returns whether the state changed.
   */
  adopt(to: BreakerState, openForMs: number): boolean {
    if (to === 'half_open') return false
    if (to !== 'open') return this.transition(to, 'peer')
    const until = this.clock.now() + openForMs
    if (this.current === 'open') {
      this.openUntil = Math.max(this.openUntil, until)
      return false
    }
    this.openUntil = until
    return this.transition('open', 'peer', openForMs)
  }

  private open(reason: TransitionReason, failedRecovery: boolean): void {
    this.consecutiveOpens = failedRecovery ? this.consecutiveOpens + 1 : 0
    const openFor = this.openInterval(true)
    this.openUntil = this.clock.now() + openFor
    this.transition('open', reason, openFor)
  }

  /** The open interval for the current run of failed recoveries; jittered only when `jitter` is set. */
  private openInterval(withJitter: boolean): number {
    const o = this.options
    const base = Math.min(o.backoffMaxMs, o.waitInOpenMs * o.backoffFactor ** this.consecutiveOpens)
    return withJitter && o.backoffJitter > 0 ? base * (1 + this.random.next() * o.backoffJitter) : base
  }

  private transition(to: BreakerState, reason: TransitionReason, openForMs?: number): boolean {
    const from = this.current
    // open → open happens only with a new interval (half-open timeout, operator trip); anything else is no change.
    if (from === to && to !== 'open') return false
    this.current = to
    this.epochValue++
    this.inFlight.clear()
    this.replacedProbe = 0
    this.probesRecorded = 0
    this.probesFailed = 0
    this.probesSlow = 0
    if (to !== 'open') this.openUntil = -1
    if (to === 'closed' || to === 'metrics_only') this.window.reset()
    if (to === 'closed') this.consecutiveOpens = 0
    if (to === 'half_open') {
      this.halfOpenSince = this.clock.now()
      this.probeReplaceAt = this.halfOpenSince
    }
    const event: BreakerTransition =
      openForMs === undefined
        ? { breaker: this.options.name, from, to, reason, at: this.clock.now(), epoch: this.epochValue }
        : { breaker: this.options.name, from, to, reason, at: this.clock.now(), epoch: this.epochValue, openForMs }
    this.onTransition(event)
    return true
  }

  snapshot(): BreakerSnapshot {
    const now = this.clock.now()
    this.window.advance(now)
    const halfOpen = this.current === 'half_open'
    const calls = halfOpen ? this.probesRecorded : this.window.calls
    const failed = halfOpen ? this.probesFailed : this.window.failed
    const slow = halfOpen ? this.probesSlow : this.window.slow
    const judged = calls >= (halfOpen ? 1 : this.options.minimumCalls)
    return {
      breaker: this.options.name,
      state: this.current,
      epoch: this.epochValue,
      openUntil: this.openUntil,
      calls,
      failedCalls: failed,
      slowCalls: slow,
      failureRate: judged ? (failed * 100) / calls : -1,
      slowCallRate: judged ? (slow * 100) / calls : -1,
      halfOpenInFlight: this.inFlight.size,
      consecutiveOpens: this.consecutiveOpens,
      slowCallDurationMs: this.options.slowCallDurationMs,
    }
  }
}

/** Outcome codes of the fast path's batched reports (index into this table). */
export const OUTCOMES: readonly CallOutcome[] = ['success', 'failure', 'ignored', 'timeout']
export const OUTCOME_CODE: Readonly<Record<CallOutcome, number>> = { success: 0, failure: 1, ignored: 2, timeout: 3 }
