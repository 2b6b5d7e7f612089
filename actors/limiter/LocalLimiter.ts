import type { Clock } from '../../runtime/index.ts'
import { LimiterInvalidError } from '../errors.ts'
import type { Decision } from './Decision.ts'
import { toDecision } from './Decision.ts'
import { algorithmFor, type Algorithm } from './algorithms.ts'
import type { LimiterStore } from './LimiterStore.ts'
import { checkCall, validateLimiterSpec, type LimiterSpec } from './LimiterSpec.ts'

interface Entry {
  state: unknown
  /** Drop the state at this instant (set with a duration); Infinity: when the algorithm says it is rested. */
  dropAt: number
}

/** How many entries each sweep step examines, and after how many calls one runs. */
const SWEEP_BATCH = 256
const SWEEP_EVERY = 1024

/**
 * The in-actor store: exact, synchronous, on the injected clock. Meant to live inside one actor
 * (RateLimiterActor), whose one-message-at-a-time turn makes every check-and-consume atomic.
 * Rested keys are dropped lazily on access and by an incremental sweep, so memory follows the
 * number of active keys.
 */
export class LocalLimiter implements LimiterStore {
  readonly limit: number
  private readonly algorithm: Algorithm<unknown>
  private readonly clock: Clock
  private readonly blockDurationMs: number
  private readonly entries = new Map<string, Entry>()
  private readonly blocks = new Map<string, number>()
  private calls = 0
  private sweepCursor: Iterator<[string, Entry]> | null = null

  constructor(spec: LimiterSpec, clock: Clock) {
    validateLimiterSpec(spec)
    this.algorithm = algorithmFor(spec)
    this.limit = this.algorithm.limit
    this.clock = clock
    this.blockDurationMs = spec.blockDurationMs ?? 0
  }

  /** Keys with live state or a block (for metrics and tests). */
  get size(): number {
    return this.entries.size + this.blocks.size
  }

  decide(key: string, cost: number): Decision {
    this.check(key, cost)
    const now = this.clock.now()
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now)
    const blocked = this.blockedDecision(key, now)
    if (blocked !== null) return blocked
    const entry = this.live(key, now)
    const { verdict, next } = this.algorithm.decide(entry?.state, now, cost)
    if (verdict.allowed) {
      if (cost > 0) this.store(key, entry, next, now)
      return toDecision(verdict, this.limit, now)
    }
    if (this.blockDurationMs > 0) {
      this.blocks.set(key, now + this.blockDurationMs)
      const retry = verdict.retryAfter < 0 ? verdict.retryAfter : Math.max(verdict.retryAfter, this.blockDurationMs)
      return toDecision({ ...verdict, retryAfter: retry }, this.limit, now)
    }
    return toDecision(verdict, this.limit, now)
  }

  adjust(key: string, delta: number): Decision {
    this.check(key, Math.abs(delta), 'delta')
    const now = this.clock.now()
    const entry = this.live(key, now)
    this.store(key, entry, this.algorithm.adjust(entry?.state, now, delta), now)
    return this.peek(key, now)
  }

  get(key: string): Decision | null {
    this.check(key, 0)
    const now = this.clock.now()
    if (this.live(key, now) === undefined && this.blockedUntil(key, now) === 0) return null
    return this.peek(key, now)
  }

  set(key: string, consumed: number, durationMs?: number): Decision {
    this.check(key, consumed, 'consumed')
    if (durationMs !== undefined && !(durationMs > 0 && Number.isFinite(durationMs))) throw new LimiterInvalidError('durationMs must be > 0')
    const now = this.clock.now()
    this.entries.delete(key)
    const state = this.algorithm.adjust(undefined, now, consumed)
    if (state !== undefined) this.entries.set(key, { state, dropAt: durationMs === undefined ? Infinity : now + durationMs })
    return this.peek(key, now)
  }

  delete(key: string): boolean {
    this.check(key, 0)
    const now = this.clock.now()
    const had = this.live(key, now) !== undefined || this.blockedUntil(key, now) > 0
    this.entries.delete(key)
    this.blocks.delete(key)
    return had
  }

  block(key: string, durationMs: number): Decision {
    this.check(key, 0)
    if (!(durationMs > 0 && Number.isFinite(durationMs))) throw new LimiterInvalidError('durationMs must be > 0')
    const now = this.clock.now()
    this.blocks.set(key, now + durationMs)
    return this.peek(key, now)
  }

  private check(key: string, cost: number, what = 'cost'): void {
    checkCall(key, cost, what)
    if (this.algorithm.integerCost && !Number.isInteger(cost)) throw new LimiterInvalidError(`${what} must be a whole number for this algorithm, got ${cost}`)
  }

  private peek(key: string, now: number): Decision {
    const blocked = this.blockedDecision(key, now)
    if (blocked !== null) return blocked
    return toDecision(this.algorithm.decide(this.live(key, now)?.state, now, 0).verdict, this.limit, now)
  }

  private blockedUntil(key: string, now: number): number {
    const until = this.blocks.get(key)
    if (until === undefined) return 0
    if (until > now) return until
    this.blocks.delete(key)
    return 0
  }

  private blockedDecision(key: string, now: number): Decision | null {
    const until = this.blockedUntil(key, now)
    if (until === 0) return null
    return toDecision({ allowed: false, remaining: 0, retryAfter: until - now, resetAfter: until - now }, this.limit, now)
  }

  /** The key's entry if its state is still live (not rested, not past a `set` duration). */
  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.dropAt <= now || this.algorithm.ttl(entry.state, now) <= 0) {
      this.entries.delete(key)
      return undefined
    }
    return entry
  }

  private store(key: string, entry: Entry | undefined, state: unknown, now: number): void {
    if (state === undefined || this.algorithm.ttl(state, now) <= 0) {
      this.entries.delete(key)
      return
    }
    if (entry === undefined) this.entries.set(key, { state, dropAt: Infinity })
    else entry.state = state
  }

  /** Examines up to SWEEP_BATCH entries from where the last sweep stopped, dropping rested ones. */
  private sweep(now: number): void {
    let cursor = this.sweepCursor ?? this.entries.entries()
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const step = cursor.next()
      if (step.done === true) {
        cursor = this.entries.entries()
        break
      }
      const [key, entry] = step.value
      if (entry.dropAt <= now || this.algorithm.ttl(entry.state, now) <= 0) this.entries.delete(key)
    }
    this.sweepCursor = cursor
    for (const [key, until] of this.blocks) if (until <= now) this.blocks.delete(key)
  }
}
