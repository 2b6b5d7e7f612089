import type { ActorRef, ActorSystem, Clock, Subscription, TimerHandle } from '../../runtime/index.ts'
import { BreakerCallTimeoutError, BreakerStoppedError, CallNotPermittedError, InvalidBreakerConfigError } from '../errors.ts'
import { OUTCOMES } from './BreakerCore.ts'
import { classifyError, classifyResult, FAILURE, isThenable, SUCCESS, TIMEOUT } from './BreakerClassify.ts'
import { DEFAULT_REPORT_DELAY_MS, type BreakerOptions, type BreakerState } from './BreakerOptions.ts'
import { breakerStateTopic, type BreakerBroadcast, type BreakerGrant, type CircuitBreakerProtocol } from './CircuitBreaker.ts'

/** How a client judges its calls: the caller-side half of `BreakerOptions`. */
export type BreakerCallOptions = Pick<BreakerOptions, 'callTimeoutMs' | 'recordError' | 'ignoreError' | 'recordResult' | 'reportBatch' | 'reportDelayMs'>

/** A protected function; it gets an AbortSignal when the breaker has a call timeout (aborted at the deadline). */
export type Protected<T> = (signal: AbortSignal | undefined) => T | PromiseLike<T>

/** What a client has done, for tests and diagnostics. */
export interface BreakerClientStats {
  /** Calls decided from the mirrored state, without a message to the actor. */
  fastPermits: number
  /** Calls that asked the actor for a permit (half-open probes, an open interval that has ended). */
  slowPermits: number
  localRejections: number
  /** Reports sent (each carries up to `reportBatch` outcomes). */
  reports: number
  /** Reports the actor's mailbox refused (their outcomes are lost to the window, never to the caller). */
  droppedReports: number
}

/** Duration ticks per slow-call threshold: a closed-state call's duration is known to 1/16 of it. */
const TICKS_PER_THRESHOLD = 16
/** Completion handlers shared by every call that started in the same tick and epoch. */
interface Handlers {
  readonly tick: number
  readonly epoch: number
  readonly ok: (value: unknown) => void
  readonly failed: (error: unknown) => void
}

/**
 * The fast path to a breaker actor on the same actor system. It mirrors the breaker's state from
 * the broadcasts on `breakerStateTopic` (delivered synchronously, in the actor's turn), so a call in
 * the closed state asks nothing and sends nothing: it runs the function, hands the caller the
 * function's own promise, and notes the outcome in an array. Outcomes go to the actor in batches
 * (see below); the breaker judges them there. Half-open probes and an ended open interval go
 * through the actor (`acquire`), since only the actor can count permits exactly.
 *
 * Two costs are kept off each closed-state call. Durations are counted in ticks of a timer that runs
 * only while calls are in flight (1/16 of `slowCallDurationMs`) instead of two clock reads, which
 * cost ~200 ns each on some virtual machines; a call that blocks the event loop itself is therefore
 * not seen as slow. And completion handlers are shared by every call of one tick and epoch, so a
 * call allocates no closure. Calls with a timeout, and half-open probes, read the clock.
 *
 * Batches leave at `reportBatch` outcomes or after `reportDelayMs`, but a failure or slow call leaves
 * at once with what gathered before it, so the breaker opens in the turn after the outcome that
 * crossed its threshold; only successes (which cannot open it) wait.
 */
export class BreakerClient {
  readonly ref: ActorRef<CircuitBreakerProtocol>
  readonly stats: BreakerClientStats = { fastPermits: 0, slowPermits: 0, localRejections: 0, reports: 0, droppedReports: 0 }
  private readonly clock: Clock
  private readonly timeoutMs: number
  readonly recordError: ((error: unknown) => boolean) | null
  readonly ignoreError: ((error: unknown) => boolean) | null
  readonly recordResult: ((result: unknown) => boolean) | null
  private readonly batchSize: number
  private readonly reportDelayMs: number
  private slowMs = Number.POSITIVE_INFINITY // calls this long (ms) are slow: reported at once, like failures
  private readonly subscription: Subscription
  private name = ''
  private mirrored: BreakerState | 'stopped' = 'closed'
  private epoch = -1
  private openUntil = -1
  // The batch: outcomes of one epoch, and the rejections made locally since the last report. Successes
  // that were not slow (nearly every call) are only counted; the arrays hold the rest, in order.
  private batchEpoch = -1
  private successes = 0
  private outcomes: number[] = []
  private durations: number[] = []
  private rejectedOpen = 0
  private rejectedForcedOpen = 0
  private flushTimer: TimerHandle | null = null
  private readonly flushBound = (): void => {
    this.flushTimer = null
    this.flush()
  }
  // The duration ticker: `tick` counts `tickMs` periods while closed-state calls are in flight.
  private tickMs = 1
  private tick = 0
  private inFlight = 0
  private tickTimer: TimerHandle | null = null
  private readonly tickBound = (): void => {
    this.tick++
    this.tickTimer = this.inFlight > 0 ? this.clock.setTimer(this.tickMs, this.tickBound) : null
  }
  private handlers: Handlers = { tick: -1, epoch: -1, ok: () => {}, failed: () => {} }

  /** Connects to a breaker actor of `system`: listens to its broadcasts, then reads its state once. */
  static async connect(system: ActorSystem, ref: ActorRef<CircuitBreakerProtocol>, options: BreakerCallOptions = {}): Promise<BreakerClient> {
    const client = new BreakerClient(system, ref, options)
    try {
      const snapshot = await ref.ask('snapshot')
      client.name = snapshot.breaker
      client.tickMs = Math.max(1, snapshot.slowCallDurationMs / TICKS_PER_THRESHOLD)
      client.slowMs = snapshot.slowCallDurationMs
      client.update({ breaker: snapshot.breaker, state: snapshot.state, epoch: snapshot.epoch, openUntil: snapshot.openUntil })
    } catch (error) {
      client.subscription.unsubscribe()
      throw error
    }
    return client
  }

  private constructor(system: ActorSystem, ref: ActorRef<CircuitBreakerProtocol>, options: BreakerCallOptions) {
    const problems: string[] = []
    const timeoutMs = options.callTimeoutMs ?? 0
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) problems.push(`callTimeoutMs must be a finite number ≥ 0, got ${timeoutMs}`)
    const batch = options.reportBatch ?? 256
    const delay = options.reportDelayMs ?? DEFAULT_REPORT_DELAY_MS
    if (!(Number.isInteger(batch) && batch >= 1 && batch <= 65_536)) problems.push(`reportBatch must be an integer in [1, 65536], got ${batch}`)
    if (!(Number.isFinite(delay) && delay >= 0 && delay <= 1000)) problems.push(`reportDelayMs must be a number in [0, 1000], got ${delay}`)
    if (problems.length > 0) throw new InvalidBreakerConfigError(`invalid breaker client options: ${problems.join('; ')}`, { data: { problems } })
    this.ref = ref
    this.clock = system.clock
    this.timeoutMs = timeoutMs
    this.recordError = options.recordError ?? null
    this.ignoreError = options.ignoreError ?? null
    this.recordResult = options.recordResult ?? null
    this.batchSize = batch
    this.reportDelayMs = delay
    // Subscribed before the first snapshot is read, so no transition between the two is missed.
    this.subscription = system.subscribe(breakerStateTopic(ref), (broadcast) => this.update(broadcast))
  }

  /** The state as this client last heard it. */
  get state(): BreakerState | 'stopped' {
    return this.mirrored
  }

  private update(broadcast: BreakerBroadcast): void {
    if (broadcast.state === 'stopped') {
      this.flush()
      this.mirrored = 'stopped'
      return
    }
    // Broadcasts and the first snapshot can arrive in either order: the higher epoch wins.
    if (this.mirrored === 'stopped' || broadcast.epoch < this.epoch) return
    if (broadcast.epoch !== this.epoch) this.flush()
    this.name = broadcast.breaker
    this.mirrored = broadcast.state
    this.epoch = broadcast.epoch
    this.openUntil = broadcast.openUntil
  }

  /** Runs `fn` under the breaker; rejects with CallNotPermittedError when it may not run. */
  execute<T>(fn: Protected<T>): Promise<T> {
    const state = this.mirrored
    if (state === 'closed' || state === 'metrics_only') {
      this.stats.fastPermits++
      return this.timeoutMs > 0 ? this.run(fn, this.epoch, 0) : this.runFast(fn)
    }
    if (state === 'disabled') {
      this.stats.fastPermits++
      return this.runUnguarded(fn)
    }
    return this.executeSlow(fn)
  }

  /** `fn` with the breaker around every call. */
  wrap<A extends unknown[], T>(fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
    return (...args: A) => this.execute(() => fn(...args))
  }

  private executeSlow<T>(fn: Protected<T>): Promise<T> {
    const state = this.mirrored
    if (state === 'stopped') {
      return Promise.reject(new BreakerStoppedError(`circuit breaker '${this.name}' has stopped`, { data: { breaker: this.name } }))
    }
    const now = this.clock.now()
    if (state === 'forced_open' || (state === 'open' && now < this.openUntil)) {
      this.stats.localRejections++
      if (state === 'open') this.rejectedOpen++
      else this.rejectedForcedOpen++
      if (this.flushTimer === null) this.scheduleFlush()
      const retryAfterMs = state === 'open' ? this.openUntil - now : Number.POSITIVE_INFINITY
      const data = { breaker: this.name, state, retryAfterMs }
      return Promise.reject(new CallNotPermittedError(`circuit breaker '${this.name}' is ${state}; retry after ${retryAfterMs} ms`, { data }))
    }
    // Half-open, or an open interval that has ended: only the actor can count the probes.
    this.stats.slowPermits++
    return this.ref.ask('acquire').then((grant: BreakerGrant) => this.run(fn, grant.epoch, grant.permit))
  }

  private runUnguarded<T>(fn: Protected<T>): Promise<T> {
    try {
      return Promise.resolve(fn(undefined))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** A closed-state call without timeout: the caller gets the function's own promise; a shared handler notes the outcome. */
  private runFast<T>(fn: Protected<T>): Promise<T> {
    let result: T | PromiseLike<T>
    try {
      result = fn(undefined)
    } catch (error) {
      this.record(this.epoch, classifyError(this, error), 0)
      return Promise.reject(error)
    }
    // A native promise (the usual answer) is handed back as it is; another thenable is adopted first.
    let promise: Promise<T>
    if (result instanceof Promise) promise = result
    else if (isThenable(result)) promise = Promise.resolve(result)
    else {
      this.record(this.epoch, classifyResult(this, result), 0)
      return Promise.resolve(result)
    }
    let handlers = this.handlers
    if (handlers.tick !== this.tick || handlers.epoch !== this.epoch) handlers = this.handlers = this.makeHandlers()
    this.inFlight++
    if (this.tickTimer === null) this.tickTimer = this.clock.setTimer(this.tickMs, this.tickBound)
    // The derived promise settles either way (the handlers never throw): no unhandled rejection of ours.
    promise.then(handlers.ok, handlers.failed)
    return promise
  }

  private makeHandlers(): Handlers {
    const tick = this.tick
    const epoch = this.epoch
    return {
      tick,
      epoch,
      ok: (value) => {
        this.inFlight--
        const duration = (this.tick - tick) * this.tickMs
        // The common case in line: a success in the batch's epoch that was not slow is only counted (see record).
        if (this.recordResult === null && epoch === this.batchEpoch && duration < this.slowMs) {
          if (++this.successes + this.outcomes.length >= this.batchSize) this.flush()
          else if (this.flushTimer === null) this.scheduleFlush()
          return
        }
        this.record(epoch, classifyResult(this, value), duration)
      },
      failed: (error) => {
        this.inFlight--
        this.record(epoch, classifyError(this, error), (this.tick - tick) * this.tickMs)
      },
    }
  }

  private run<T>(fn: Protected<T>, epoch: number, permit: number): Promise<T> {
    const start = this.clock.now()
    if (this.timeoutMs > 0) return this.runWithTimeout(fn, epoch, permit, start)
    let result: T | PromiseLike<T>
    try {
      result = fn(undefined)
    } catch (error) {
      this.finish(epoch, permit, classifyError(this, error), start)
      return Promise.reject(error)
    }
    if (!isThenable(result)) {
      this.finish(epoch, permit, classifyResult(this, result), start)
      return Promise.resolve(result)
    }
    return Promise.resolve(result).then(
      (value) => {
        this.finish(epoch, permit, classifyResult(this, value), start)
        return value
      },
      (error: unknown) => {
        this.finish(epoch, permit, classifyError(this, error), start)
        throw error
      },
    )
  }

  /** Pekko's callTimeout: the caller gets ERR_BREAKER_CALL_TIMEOUT at the deadline, and the breaker counts a failure then, not when the call ends. */
  private runWithTimeout<T>(fn: Protected<T>, epoch: number, permit: number, start: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController()
      let done = false
      const timer = this.clock.setTimer(this.timeoutMs, () => {
        if (done) return
        done = true
        const error = new BreakerCallTimeoutError(`call through circuit breaker '${this.name}' timed out after ${this.timeoutMs} ms`, { data: { breaker: this.name, timeoutMs: this.timeoutMs } })
        controller.abort(error)
        this.finish(epoch, permit, TIMEOUT, start)
        reject(error)
      })
      const ok = (value: T): void => {
        if (done) return
        done = true
        this.clock.clearTimer(timer)
        this.finish(epoch, permit, classifyResult(this, value), start)
        resolve(value)
      }
      const failed = (error: unknown): void => {
        if (done) return
        done = true
        this.clock.clearTimer(timer)
        this.finish(epoch, permit, classifyError(this, error), start)
        reject(error)
      }
      try {
        const result = fn(controller.signal)
        if (isThenable(result)) result.then(ok, failed)
        else ok(result)
      } catch (error) {
        failed(error)
      }
    })
  }

  private finish(epoch: number, permit: number, outcome: number, start: number): void {
    const duration = this.clock.now() - start
    if (permit > 0) {
      // A half-open probe: reported at once, so the breaker can decide (and release the permit) now.
      this.send(() => this.ref.tell('complete', epoch, permit, OUTCOMES[outcome]!, duration))
      return
    }
    this.record(epoch, outcome, duration)
  }

  /** Adds a closed-state outcome to the batch (one epoch per batch). */
  private record(epoch: number, outcome: number, duration: number): void {
    if (epoch !== this.batchEpoch) {
      if (this.successes + this.outcomes.length > 0) this.flush()
      this.batchEpoch = epoch
    }
    if (outcome === SUCCESS && duration < this.slowMs) {
      // The common case: a count. Only failures and slow calls can tip the breaker, and both end a
      // batch, so sending the successes first keeps every verdict (ignored calls are never judged).
      if (++this.successes + this.outcomes.length >= this.batchSize) this.flush()
      else if (this.flushTimer === null) this.scheduleFlush()
      return
    }
    this.outcomes.push(outcome)
    this.durations.push(duration)
    // A failure or a slow call may tip the breaker: it leaves at once (with the successes before it),
    // so batching never delays a transition. Successes and ignored calls wait for the batch or the delay.
    if (this.successes + this.outcomes.length >= this.batchSize || outcome === FAILURE || outcome === TIMEOUT || duration >= this.slowMs) this.flush()
    else if (this.flushTimer === null) this.scheduleFlush()
  }

  /**
   * Arms the report timer. A flush leaves it armed (a set and a clear per batch cost more than the
   * batch's other bookkeeping); when it fires it sends what gathered since, so no outcome waits
   * longer than `reportDelayMs`.
   */
  private scheduleFlush(): void {
    this.flushTimer = this.clock.setTimer(this.reportDelayMs, this.flushBound)
  }

  /** Sends what has gathered now (also done on every transition, and by `close`). */
  flush(): void {
    if (this.successes === 0 && this.outcomes.length === 0 && this.rejectedOpen === 0 && this.rejectedForcedOpen === 0) return
    const report = {
      epoch: this.batchEpoch,
      successes: this.successes,
      outcomes: this.outcomes,
      durations: this.durations,
      rejectedOpen: this.rejectedOpen,
      rejectedHalfOpen: 0,
      rejectedForcedOpen: this.rejectedForcedOpen,
    }
    this.successes = 0
    this.outcomes = []
    this.durations = []
    this.rejectedOpen = 0
    this.rejectedForcedOpen = 0
    this.stats.reports++
    this.send(() => this.ref.tell('report', report))
  }

  private send(tell: () => void): void {
    try {
      tell()
    } catch (_full) {
      // A full mailbox (reject policy): the outcomes are lost to the window, never to the caller.
      this.stats.droppedReports++
    }
  }

  /** Sends what is pending and stops listening; `execute` then refuses with ERR_BREAKER_STOPPED. */
  close(): void {
    this.flush()
    if (this.flushTimer !== null) this.clock.clearTimer(this.flushTimer)
    this.flushTimer = null
    if (this.tickTimer !== null) this.clock.clearTimer(this.tickTimer)
    this.tickTimer = null
    this.subscription.unsubscribe()
    this.mirrored = 'stopped'
  }
}

/** `fn` guarded by `breaker`: each call goes through `breaker.execute`. */
export function withBreaker<A extends unknown[], T>(breaker: BreakerClient, fn: (...args: A) => T | PromiseLike<T>): (...args: A) => Promise<T> {
  return breaker.wrap(fn)
}
