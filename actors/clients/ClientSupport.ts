import type { ActorContext, TimerHandle } from '../../runtime/index.ts'
import { BreakerClient } from '../breaker/BreakerClient.ts'
import { spawnBreaker } from '../breaker/spawnBreaker.ts'
import { backoffDelay, ClientHealthTopic, Hysteresis, type HealthSnapshot } from './Health.ts'
import type { ResolvedCommon } from './ClientOptions.ts'

/** Plain counters the metrics read at scrape time (the call path never touches prom-client). */
export interface ClientCounters {
  ok: number
  failed: number
  /** Refused by the breaker (ERR_CALL_NOT_PERMITTED). */
  rejected: number
  checksOk: number
  checksFailed: number
}

/**
 * What PgPool and RedisClient share, composed into each actor: the breaker child, health checks
 * with hysteresis and backoff, in-flight accounting for the drain on stop, and the counters. Not
 * an actor; it runs in its owner's turns.
 */
export class ClientSupport {
  readonly kind: 'pg' | 'redis'
  readonly options: ResolvedCommon
  readonly health: Hysteresis
  readonly counters: ClientCounters = { ok: 0, failed: 0, rejected: 0, checksOk: 0, checksFailed: 0 }
  breaker: BreakerClient | null = null
  inFlight = 0
  closing = false
  private readonly context: ActorContext<any>
  private readonly isServiceFault: (error: unknown) => boolean
  private idleWaiters: (() => void)[] = []
  // Bound once: a call attaches these two, no closure of its own.
  private readonly okBound = (): void => {
    this.counters.ok++
    this.done()
  }
  private readonly failedBound = (error: unknown): void => {
    if ((error as { code?: unknown }).code === 'ERR_CALL_NOT_PERMITTED') this.counters.rejected++
    else this.counters.failed++
    this.done()
  }

  constructor(kind: 'pg' | 'redis', options: ResolvedCommon, context: ActorContext<any>, isServiceFault: (error: unknown) => boolean) {
    this.kind = kind
    this.options = options
    this.context = context
    this.isServiceFault = isServiceFault
    this.health = new Hysteresis(options.health.unhealthyAfter, options.health.healthyAfter)
  }

  /** Spawns the breaker child (when enabled). Errors the client classifies as the caller's (a bad query, WRONGTYPE) count for nothing. */
  async start(): Promise<void> {
    if (this.options.breaker === false) return
    const isFault = this.isServiceFault
    const { breaker } = await spawnBreaker(
      this.context,
      {
        ...this.options.breaker,
        name: this.options.breaker.name ?? `${this.kind}:${this.options.name}`,
        ignoreError: (error) => !isFault(error),
        ...(this.options.registry === null ? {} : { registry: this.options.registry }),
      },
      { name: 'breaker' },
    ).then((b) => ({ breaker: b.client }))
    this.breaker = breaker
  }

  /**
   * Runs one call: refused with `closed()` once closing; through the breaker when there is one
   * (fast path: no message per call); counted in flight until it settles.
   */
  run<T>(fn: () => Promise<T>, closed: () => Error): Promise<T> {
    if (this.closing) return Promise.reject(closed())
    this.inFlight++
    const promise = this.breaker === null ? fn() : this.breaker.execute(fn)
    promise.then(this.okBound, this.failedBound)
    return promise
  }

  private done(): void {
    this.inFlight--
    if (this.inFlight === 0 && this.idleWaiters.length > 0) for (const wake of this.idleWaiters.splice(0)) wake()
  }

  /**
   * One health check: `probe` against the check timeout (a late answer counts as a failure, with
   * `timeoutCode`). Applies the hysteresis and publishes a transition, once, when there is one.
   * Returns the delay before the next check: the interval, backed off while unhealthy.
   */
  async check(probe: () => Promise<unknown>, codeOf: (error: unknown) => string, timeoutCode: string): Promise<number> {
    const { clock } = this.context.system
    const h = this.options.health
    let timer: TimerHandle | null = null
    const timedOut = new Promise<never>((_, reject) => {
      timer = clock.setTimer(h.timeoutMs, () => reject(Object.assign(new Error(`health check timed out after ${h.timeoutMs} ms`), { code: timeoutCode })))
    })
    let failure: string | null = null
    try {
      const answer = probe()
      answer.catch(() => {}) // a late failure after the timeout is not news
      await Promise.race([answer, timedOut])
    } catch (error) {
      failure = codeOf(error)
    } finally {
      if (timer !== null) clock.clearTimer(timer)
    }
    if (failure === null) this.counters.checksOk++
    else this.counters.checksFailed++
    const moved = failure === null ? this.health.success() : this.health.failure(failure)
    if (moved !== null) {
      const reason = moved.to === 'unhealthy' ? this.health.lastError : null
      this.context.system.publish(ClientHealthTopic, { client: this.options.name, kind: this.kind, from: moved.from, to: moved.to, reason, at: clock.now(), seq: this.health.transitions })
      if (moved.to === 'unhealthy') this.context.log.warn({ client: this.options.name, reason }, `${this.kind} client unhealthy`)
      else this.context.log.info({ client: this.options.name }, `${this.kind} client healthy`)
    }
    if (this.health.status !== 'unhealthy') return h.intervalMs
    const random = this.context.system.random
    return backoffDelay(this.health.consecutiveFailures - h.unhealthyAfter, h.intervalMs, h.maxIntervalMs, h.jitter, () => random.next())
  }

  snapshot(): HealthSnapshot {
    const h = this.health
    return {
      client: this.options.name,
      kind: this.kind,
      status: h.status,
      consecutiveFailures: h.consecutiveFailures,
      consecutiveSuccesses: h.consecutiveSuccesses,
      lastError: h.lastError,
      checks: h.checks,
      transitions: h.transitions,
    }
  }

  /** Stops intake and waits until nothing is in flight or `drainTimeoutMs` passes; true when drained. */
  drain(): Promise<boolean> {
    this.closing = true
    if (this.inFlight === 0) return Promise.resolve(true)
    const { clock } = this.context.system
    return new Promise<boolean>((resolve) => {
      const timer = clock.setTimer(this.options.drainTimeoutMs, () => resolve(this.inFlight === 0))
      this.idleWaiters.push(() => {
        clock.clearTimer(timer)
        resolve(true)
      })
    })
  }

  /** The breaker client listens on the event stream, not as an actor: nothing else unsubscribes it. */
  close(): void {
    this.closing = true
    this.breaker?.close()
  }
}
