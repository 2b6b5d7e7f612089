import { Actor } from '../../runtime/index.ts'
import { LimiterInvalidError } from '../errors.ts'
import type { Decision } from './Decision.ts'
import type { LimiterMetrics } from './LimiterMetrics.ts'
import type { LimiterSpec } from './LimiterSpec.ts'
import type { LimiterStore } from './LimiterStore.ts'
import { LocalLimiter } from './LocalLimiter.ts'
import { RateLimiter, type FailurePolicy, type LimiterStats } from './RateLimiter.ts'
import { RedisLimiter, type RedisLimiterOptions } from './RedisLimiter.ts'

export interface RateLimiterActorOptions {
  readonly spec: LimiterSpec
  /** Keep state in Redis (shared by every node using the same prefix) instead of in the actor. */
  readonly redis?: Omit<RedisLimiterOptions, 'clock'>
  /** With `redis`: a local limiter with this spec decides while Redis fails (this node's share of the limit). */
  readonly insurance?: LimiterSpec
  readonly failurePolicy?: FailurePolicy
  readonly storeRetryMs?: number
  readonly inMemoryBlockOnConsumed?: number
  readonly inMemoryBlockDurationMs?: number
  readonly execEvenly?: boolean
  readonly execEvenlyMinDelayMs?: number
  /** Report on these metrics under `name` (default: the actor's name). */
  readonly metrics?: LimiterMetrics
  readonly name?: string
}

/** Every call answers; refusals are data (`allowed: false`), except `consume`, which rejects with ERR_RATE_LIMITED. */
export interface RateLimiterProtocol {
  /** Checks and consumes `cost` (default 1; 0 peeks). */
  decide(key: string, cost?: number): Promise<Decision>
  /** Like decide, but a refusal rejects with ERR_RATE_LIMITED carrying the Decision. */
  consume(key: string, cost?: number): Promise<Decision>
  penalty(key: string, points?: number): Promise<Decision>
  reward(key: string, points?: number): Promise<Decision>
  get(key: string): Promise<Decision | null>
  set(key: string, consumed: number, durationMs?: number): Promise<Decision>
  delete(key: string): Promise<boolean>
  block(key: string, durationMs: number): Promise<Decision>
  stats(): LimiterStats
}

/**
 * A rate limiter as an actor, to put under a supervisor and call from any shard or node. Local
 * mode is exact: the actor's turn makes each check-and-consume atomic (the local store decides
 * synchronously before any await, so the actor can be reentrant). Redis mode is exact across
 * nodes: Redis runs each decision as one script. Local state is lost when the actor restarts
 * (the allowance starts full again); Redis state is not.
 */
export class RateLimiterActor extends Actor<RateLimiterProtocol> implements RateLimiterProtocol {
  // Only Redis round trips and execute-evenly delays are awaited; neither needs the actor's turn.
  static readonly reentrant = true
  private readonly limiter: RateLimiter
  private readonly unregister: (() => void) | null

  constructor(options: RateLimiterActorOptions) {
    super()
    const clock = this.context.system.clock
    if (options.insurance !== undefined && options.redis === undefined) throw new LimiterInvalidError('an insurance limiter only makes sense with a Redis store')
    const store: LimiterStore = options.redis === undefined ? new LocalLimiter(options.spec, clock) : new RedisLimiter(options.spec, { ...options.redis, clock })
    const insurance = options.insurance === undefined ? undefined : new LocalLimiter(options.insurance, clock)
    this.limiter = new RateLimiter({
      store,
      clock,
      ...(insurance === undefined ? {} : { insurance }),
      ...(options.failurePolicy === undefined ? {} : { failurePolicy: options.failurePolicy }),
      ...(options.storeRetryMs === undefined ? {} : { storeRetryMs: options.storeRetryMs }),
      ...(options.inMemoryBlockOnConsumed === undefined ? {} : { inMemoryBlockOnConsumed: options.inMemoryBlockOnConsumed }),
      ...(options.inMemoryBlockDurationMs === undefined ? {} : { inMemoryBlockDurationMs: options.inMemoryBlockDurationMs }),
      ...(options.execEvenly === undefined ? {} : { execEvenly: options.execEvenly }),
      ...(options.execEvenlyMinDelayMs === undefined ? {} : { execEvenlyMinDelayMs: options.execEvenlyMinDelayMs }),
    })
    this.unregister = options.metrics?.add(options.name ?? this.context.self.path, () => this.limiter.stats()) ?? null
  }

  override postStop(): void {
    this.unregister?.()
  }

  decide(key: string, cost = 1): Promise<Decision> {
    return this.limiter.decide(key, cost)
  }

  consume(key: string, cost = 1): Promise<Decision> {
    return this.limiter.consume(key, cost)
  }

  penalty(key: string, points = 1): Promise<Decision> {
    return this.limiter.penalty(key, points)
  }

  reward(key: string, points = 1): Promise<Decision> {
    return this.limiter.reward(key, points)
  }

  get(key: string): Promise<Decision | null> {
    return this.limiter.get(key)
  }

  set(key: string, consumed: number, durationMs?: number): Promise<Decision> {
    return this.limiter.set(key, consumed, durationMs)
  }

  delete(key: string): Promise<boolean> {
    return this.limiter.delete(key)
  }

  block(key: string, durationMs: number): Promise<Decision> {
    return this.limiter.block(key, durationMs)
  }

  stats(): LimiterStats {
    return this.limiter.stats()
  }
}
