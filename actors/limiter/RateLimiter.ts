import type { Clock } from '../../runtime/index.ts'
import { LimiterInvalidError, LimiterUnavailableError, RateLimitedError } from '../errors.ts'
import type { Decision, DecisionSource } from './Decision.ts'
import type { LimiterStore } from './LimiterStore.ts'

/** What to answer when the store fails and no insurance limiter can decide instead. */
export type FailurePolicy = 'open' | 'closed' | 'error'

export interface RateLimiterOptions {
  /** Where decisions are made: a LocalLimiter, a RedisLimiter, or any other LimiterStore. */
  readonly store: LimiterStore
  readonly clock: Clock
  /**
   * A local limiter that decides while the store fails (rate-limiter-flexible's insurance limiter).
   * Give it this process's share of the limit. What it admits is not written back to the store.
   */
  readonly insurance?: LimiterStore
  /**
   * With no insurance: `open` admits (source `fail-open`, counted), `closed` refuses (source
   * `fail-closed`, retryAfterMs = storeRetryMs), `error` rejects with ERR_LIMITER_UNAVAILABLE.
   * Default `closed`. Calls other than admission (penalty, set, ...) always reject when they cannot be done.
   */
  readonly failurePolicy?: FailurePolicy
  /** After a store failure, go straight to the fallback for this long before trying the store again. Default 1000 ms. */
  readonly storeRetryMs?: number
  /**
   * In-memory block shortcut: once a key has consumed at least this much (limit − remaining), refuse
   * it here, without a store round trip, until its window resets. 0 disables (default).
   */
  readonly inMemoryBlockOnConsumed?: number
  /** How long the in-memory block lasts; default: until the store said the key resets. */
  readonly inMemoryBlockDurationMs?: number
  /**
   * Execute evenly: an admitted call resolves after resetAfterMs / (remaining + 1), so the rest of
   * the allowance spreads over the window instead of bursting at its start.
   */
  readonly execEvenly?: boolean
  /** Lower bound of the execute-evenly delay. Default 0. */
  readonly execEvenlyMinDelayMs?: number
}

export interface LimiterStats {
  allowed: number
  refused: number
  /** Decisions by where they came from. */
  bySource: Record<DecisionSource, number>
  storeFailures: number
  /** Keys in the in-memory block table. */
  memoryBlocked: number
}

type StoreCall<T> = (store: LimiterStore) => T | Promise<T>

/**
 * rate-limiter-flexible's surface over any LimiterStore: consume / penalty / reward / get / set /
 * delete / block, with the in-memory block shortcut, execute-evenly smoothing, an insurance
 * limiter and an explicit failure policy. Never a silent allow: a fail-open decision says so in
 * `source` and in the stats.
 */
export class RateLimiter {
  private readonly store: LimiterStore
  private readonly insurance: LimiterStore | null
  private readonly clock: Clock
  private readonly policy: FailurePolicy
  private readonly storeRetryMs: number
  private readonly blockOnConsumed: number
  private readonly blockDurationMs: number | null
  private readonly execEvenly: boolean
  private readonly minDelayMs: number
  private readonly memoryBlocks = new Map<string, number>()
  private storeDownUntil = -Infinity
  private calls = 0
  private readonly counters: LimiterStats = {
    allowed: 0,
    refused: 0,
    bySource: { store: 0, 'memory-block': 0, insurance: 0, 'fail-open': 0, 'fail-closed': 0, lease: 0 },
    storeFailures: 0,
    memoryBlocked: 0,
  }

  constructor(options: RateLimiterOptions) {
    const policy = options.failurePolicy ?? 'closed'
    if (policy !== 'open' && policy !== 'closed' && policy !== 'error') throw new LimiterInvalidError(`failurePolicy must be open, closed or error, got '${String(policy)}'`)
    const nonNegative = (value: number | undefined, name: string): number => {
      const v = value ?? 0
      if (!(Number.isFinite(v) && v >= 0)) throw new LimiterInvalidError(`${name} must be >= 0`)
      return v
    }
    this.store = options.store
    this.insurance = options.insurance ?? null
    this.clock = options.clock
    this.policy = policy
    this.storeRetryMs = nonNegative(options.storeRetryMs ?? 1000, 'storeRetryMs')
    this.blockOnConsumed = nonNegative(options.inMemoryBlockOnConsumed, 'inMemoryBlockOnConsumed')
    this.blockDurationMs = options.inMemoryBlockDurationMs === undefined ? null : nonNegative(options.inMemoryBlockDurationMs, 'inMemoryBlockDurationMs')
    this.execEvenly = options.execEvenly === true
    this.minDelayMs = nonNegative(options.execEvenlyMinDelayMs, 'execEvenlyMinDelayMs')
  }

  get limit(): number {
    return this.store.limit
  }

  /** Checks and consumes `points`; always answers with a Decision (allowed or not). */
  async decide(key: string, points = 1): Promise<Decision> {
    const now = this.clock.now()
    const blocked = this.memoryBlocked(key, now)
    let decision: Decision
    if (blocked !== null) {
      decision = blocked
    } else {
      decision = await this.admission(key, points)
      this.noteMemoryBlock(key, decision, now)
    }
    this.count(decision)
    if (decision.allowed && this.execEvenly && points > 0) await this.delay(Math.max(this.minDelayMs, decision.resetAfterMs / (decision.remaining + 1)))
    return decision
  }

  /** Like `decide`, but a refusal rejects with ERR_RATE_LIMITED (the Decision in `data`), as rate-limiter-flexible's consume does. */
  async consume(key: string, points = 1): Promise<Decision> {
    const decision = await this.decide(key, points)
    if (!decision.allowed) throw new RateLimitedError(`rate limited: '${key}' (retry after ${decision.retryAfterMs} ms)`, { data: decision })
    return decision
  }

  /** Consumes `points` whatever the limit. */
  penalty(key: string, points = 1): Promise<Decision> {
    return this.other((store) => store.adjust(key, points))
  }

  /** Gives `points` back. */
  reward(key: string, points = 1): Promise<Decision> {
    this.memoryBlocks.delete(key)
    return this.other((store) => store.adjust(key, -points))
  }

  get(key: string): Promise<Decision | null> {
    return this.other((store) => store.get(key))
  }

  set(key: string, consumed: number, durationMs?: number): Promise<Decision> {
    this.memoryBlocks.delete(key)
    return this.other((store) => store.set(key, consumed, durationMs))
  }

  delete(key: string): Promise<boolean> {
    this.memoryBlocks.delete(key)
    return this.other((store) => store.delete(key))
  }

  block(key: string, durationMs: number): Promise<Decision> {
    return this.other((store) => store.block(key, durationMs))
  }

  stats(): LimiterStats {
    return { ...this.counters, bySource: { ...this.counters.bySource }, memoryBlocked: this.memoryBlocks.size }
  }

  /** Whether the store is being skipped after a failure. */
  get storeSuspended(): boolean {
    return this.clock.now() < this.storeDownUntil
  }

  private async admission(key: string, points: number): Promise<Decision> {
    if (this.clock.now() >= this.storeDownUntil) {
      try {
        return await this.store.decide(key, points)
      } catch (error) {
        if (!(error instanceof LimiterUnavailableError)) throw error
        this.storeFailed()
        return this.fallbackDecision(key, points, error)
      }
    }
    return this.fallbackDecision(key, points, null)
  }

  private async fallbackDecision(key: string, points: number, cause: unknown): Promise<Decision> {
    if (this.insurance !== null) return { ...(await this.insurance.decide(key, points)), source: 'insurance' }
    const now = this.clock.now()
    const limit = this.store.limit
    switch (this.policy) {
      case 'open':
        return { allowed: true, remaining: 0, limit, retryAfterMs: 0, resetAfterMs: 0, resetAtMs: now, source: 'fail-open' }
      case 'closed': {
        const wait = Math.max(0, this.storeDownUntil - now)
        return { allowed: false, remaining: 0, limit, retryAfterMs: wait, resetAfterMs: wait, resetAtMs: now + wait, source: 'fail-closed' }
      }
      case 'error':
        throw cause instanceof LimiterUnavailableError ? cause : new LimiterUnavailableError(`the limiter's store is unavailable (retrying it after ${this.storeRetryMs} ms)`, { data: { key } })
    }
  }

  /** Calls other than admission: the store, else the insurance, else a typed error. */
  private async other<T>(call: StoreCall<T>): Promise<T> {
    if (this.clock.now() >= this.storeDownUntil) {
      try {
        return await call(this.store)
      } catch (error) {
        if (!(error instanceof LimiterUnavailableError)) throw error
        this.storeFailed()
        if (this.insurance !== null) return call(this.insurance)
        throw error
      }
    }
    if (this.insurance !== null) return call(this.insurance)
    throw new LimiterUnavailableError(`the limiter's store is unavailable (retrying it after ${this.storeRetryMs} ms)`)
  }

  private storeFailed(): void {
    this.counters.storeFailures++
    this.storeDownUntil = this.clock.now() + this.storeRetryMs
  }

  private memoryBlocked(key: string, now: number): Decision | null {
    if (this.memoryBlocks.size === 0) return null
    if (++this.calls % 1024 === 0) for (const [k, until] of this.memoryBlocks) if (until <= now) this.memoryBlocks.delete(k)
    const until = this.memoryBlocks.get(key)
    if (until === undefined) return null
    if (until <= now) {
      this.memoryBlocks.delete(key)
      return null
    }
    const wait = until - now
    return { allowed: false, remaining: 0, limit: this.store.limit, retryAfterMs: wait, resetAfterMs: wait, resetAtMs: until, source: 'memory-block' }
  }

  private noteMemoryBlock(key: string, decision: Decision, now: number): void {
    if (this.blockOnConsumed <= 0 || decision.source !== 'store' || decision.allowed) return
    if (decision.limit - decision.remaining < this.blockOnConsumed) return
    // By default block only while the store would refuse anyway (its retryAfterMs); -1 (this cost
    // can never pass) says nothing about smaller requests, so it blocks nothing.
    const duration = this.blockDurationMs ?? decision.retryAfterMs
    if (duration > 0) this.memoryBlocks.set(key, now + duration)
  }

  private count(decision: Decision): void {
    if (decision.allowed) this.counters.allowed++
    else this.counters.refused++
    this.counters.bySource[decision.source]++
  }

  private delay(ms: number): Promise<void> {
    if (!(ms > 0)) return Promise.resolve()
    return new Promise((resolve) => this.clock.setTimer(ms, resolve))
  }
}
