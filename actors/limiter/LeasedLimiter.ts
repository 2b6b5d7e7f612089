import type { Clock } from '../../runtime/index.ts'
import { LimiterInvalidError } from '../errors.ts'
import type { Decision } from './Decision.ts'
import type { LimiterStore } from './LimiterStore.ts'
import { checkCall, type LimiterSpec } from './LimiterSpec.ts'

export interface LeasedLimiterOptions {
  /** Tokens (units) taken from the store in one call. The over-admission bound is this × holders. */
  readonly leaseSize: number
  /** A lease this old serves nothing more; its unused tokens go back where the algorithm allows. Default 1000. */
  readonly leaseMs?: number
  readonly clock: Clock
}

/** What a LeasedLimiter has done (for tests, metrics and the bench). */
export interface LeaseStats {
  /** Store calls that took a lease (granted). */
  leases: number
  /** Decisions served from a lease without a store call. */
  local: number
  /** Decisions sent to the store as they are (peeks, costs above the lease, keys starved of leases). */
  passthrough: number
  /** Unused tokens given back to the store (GCRA, token bucket). */
  returned: number
  /** Unused tokens dropped: window algorithms, or a give-back that failed (under-admission, never over). */
  dropped: number
}

interface Lease {
  tokens: number
  takenAt: number
  /** While a store call for a new lease runs, callers for the key wait for it. */
  acquiring: Promise<void> | null
}

/**
 * Token leasing over an exact store (the Redis one): per key, one store call takes `leaseSize`
 * units at once; decisions are then served locally until they are spent or the lease is
 * `leaseMs` old. Meant for one limiter per shard or node in front of a shared Redis: it cuts the
 * round trips by up to `leaseSize`×.
 *
 * Exactness: each holder has at most one lease per key at a time, taken only after the previous
 * one is spent or expired. So in any interval, what the holders admit is at most what the store
 * admits in that interval plus one lease per holder: **≤ limit + leaseSize × holders** per key
 * (for GCRA and the token bucket, "limit" is the burst plus what refills in the interval). It can
 * also under-admit: up to leaseSize × holders units may sit unused in other holders' leases. When a
 * lease is refused (fewer than `leaseSize` left), the key goes per call (exact) until the store's
 * retryAfterMs has passed. Unused tokens of an aged-out lease are given back (adjust −n) for GCRA
 * and the token bucket, which restores their state as if never taken; window algorithms drop them
 * (a give-back could credit a later window).
 */
export class LeasedLimiter implements LimiterStore {
  readonly limit: number
  readonly stats: LeaseStats = { leases: 0, local: 0, passthrough: 0, returned: 0, dropped: 0 }
  private readonly store: LimiterStore
  private readonly leaseSize: number
  private readonly leaseMs: number
  private readonly clock: Clock
  private readonly canReturn: boolean
  private readonly leases = new Map<string, Lease>()
  /** Keys whose last lease was refused, until when they go per call. */
  private readonly starved = new Map<string, number>()

  constructor(store: LimiterStore, spec: LimiterSpec, options: LeasedLimiterOptions) {
    const leaseMs = options.leaseMs ?? 1000
    if (!(Number.isInteger(options.leaseSize) && options.leaseSize >= 1)) throw new LimiterInvalidError(`leaseSize must be an integer ≥ 1, got ${options.leaseSize}`)
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw new LimiterInvalidError(`leaseMs must be > 0, got ${leaseMs}`)
    this.store = store
    this.limit = store.limit
    this.leaseSize = options.leaseSize
    this.leaseMs = leaseMs
    this.clock = options.clock
    this.canReturn = spec.algorithm === 'gcra' || spec.algorithm === 'token-bucket'
  }

  async decide(key: string, cost: number): Promise<Decision> {
    checkCall(key, cost)
    for (;;) {
      const now = this.clock.now()
      let lease = this.leases.get(key)
      if (lease !== undefined && lease.acquiring === null && (now - lease.takenAt >= this.leaseMs || lease.tokens < cost)) {
        this.release(key, lease)
        lease = undefined
      }
      if (lease !== undefined && lease.acquiring === null && cost > 0) {
        lease.tokens -= cost
        this.stats.local++
        return { allowed: true, remaining: lease.tokens, limit: this.limit, retryAfterMs: 0, resetAfterMs: 0, resetAtMs: now, source: 'lease' }
      }
      if (lease !== undefined && lease.acquiring !== null) {
        await lease.acquiring
        continue
      }
      if (cost === 0 || cost > this.leaseSize || (this.starved.get(key) ?? -1) > now) {
        this.stats.passthrough++
        return this.store.decide(key, cost)
      }
      const refusal = await this.acquire(key)
      if (refusal !== null) {
        // Too few units left for a lease: this call, and the key until the store's retry time, go per call (exact).
        this.starved.set(key, now + Math.max(0, refusal.retryAfterMs))
        this.stats.passthrough++
        return this.store.decide(key, cost)
      }
    }
  }

  /** Takes a lease for `key`; null when granted, else the store's refusal. Waiters for the key wait on it. */
  private async acquire(key: string): Promise<Decision | null> {
    const pending: Lease = { tokens: 0, takenAt: this.clock.now(), acquiring: null }
    let done = (): void => {}
    pending.acquiring = new Promise<void>((resolve) => (done = resolve))
    this.leases.set(key, pending)
    try {
      const decision = await this.store.decide(key, this.leaseSize)
      if (!decision.allowed) {
        this.leases.delete(key)
        return decision
      }
      this.stats.leases++
      this.starved.delete(key)
      pending.tokens = this.leaseSize
      pending.takenAt = this.clock.now()
      return null
    } catch (error) {
      this.leases.delete(key)
      throw error
    } finally {
      pending.acquiring = null
      done()
    }
  }

  /** Drops a lease; its unused units go back to the store where that is exact. */
  private release(key: string, lease: Lease): void {
    this.leases.delete(key)
    const unused = lease.tokens
    if (unused <= 0) return
    if (!this.canReturn) {
      this.stats.dropped += unused
      return
    }
    this.stats.returned += unused
    void Promise.resolve()
      .then(() => this.store.adjust(key, -unused))
      .catch(() => {
        this.stats.returned -= unused
        this.stats.dropped += unused
      })
  }

  /** Gives back (or drops) every live lease: call before discarding the limiter. */
  close(): void {
    for (const [key, lease] of this.leases) if (lease.acquiring === null) this.release(key, lease)
  }

  adjust(key: string, delta: number): Promise<Decision> | Decision {
    return this.store.adjust(key, delta)
  }

  get(key: string): Promise<Decision | null> | Decision | null {
    return this.store.get(key)
  }

  set(key: string, consumed: number, durationMs?: number): Promise<Decision> | Decision {
    this.forget(key)
    return this.store.set(key, consumed, durationMs)
  }

  delete(key: string): Promise<boolean> | boolean {
    this.forget(key)
    return this.store.delete(key)
  }

  block(key: string, durationMs: number): Promise<Decision> | Decision {
    this.forget(key)
    return this.store.block(key, durationMs)
  }

  /** The store's state of the key is being replaced: a lease on the old state is void (its units are not given back). */
  private forget(key: string): void {
    const lease = this.leases.get(key)
    if (lease !== undefined && lease.acquiring === null) {
      this.stats.dropped += lease.tokens
      this.leases.delete(key)
    }
    this.starved.delete(key)
  }
}
