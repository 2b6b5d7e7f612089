import { Actor, type ActorRef, type Clock, type TimerHandle } from '../../runtime/index.ts'
import { ConcurrencyLimitedError, LimiterInvalidError } from '../errors.ts'

export interface ConcurrencyLimiterOptions {
  /** Permits that may be held at once. */
  readonly maxConcurrent: number
  /** Callers that may wait for a permit; beyond that `acquire` rejects at once. Default 0 (no waiting). */
  readonly maxQueue?: number
  /** How long a queued caller waits before rejecting with ERR_CONCURRENCY_LIMITED. Default 1000 ms. */
  readonly queueTimeoutMs?: number
  /**
   * A permit not released within this long is taken back (its holder crashed or forgot), so a lost
   * holder cannot leak capacity for ever. Default 0: permits are held until released.
   */
  readonly leaseMs?: number
}

export interface Permit {
  readonly id: string
  /** When the lease ends on the limiter's clock; Infinity without a lease. */
  readonly expiresAtMs: number
}

export interface ConcurrencyStats {
  inUse: number
  waiting: number
  acquired: number
  refused: number
  timedOut: number
  expired: number
}

interface Waiter {
  resolve(permit: Permit): void
  reject(error: Error): void
  timer: TimerHandle | null
}

/**
 * A counting semaphore on the injected clock: at most `maxConcurrent` permits out, a bounded FIFO
 * of waiters with a timeout, and optional leases. Separate from the rate limiters on purpose: it
 * bounds how many run at once, not how many start per unit of time.
 */
export class ConcurrencyLimiter {
  private readonly max: number
  private readonly maxQueue: number
  private readonly queueTimeoutMs: number
  private readonly leaseMs: number
  private readonly clock: Clock
  private readonly held = new Map<string, TimerHandle | null>()
  private readonly queue: Waiter[] = []
  private nextId = 0
  private readonly counters = { acquired: 0, refused: 0, timedOut: 0, expired: 0 }

  constructor(options: ConcurrencyLimiterOptions, clock: Clock) {
    const { maxConcurrent, maxQueue = 0, queueTimeoutMs = 1000, leaseMs = 0 } = options
    const problems: string[] = []
    if (!(Number.isInteger(maxConcurrent) && maxConcurrent > 0)) problems.push('maxConcurrent must be an integer > 0')
    if (!(Number.isInteger(maxQueue) && maxQueue >= 0)) problems.push('maxQueue must be an integer >= 0')
    if (!(queueTimeoutMs > 0)) problems.push('queueTimeoutMs must be > 0')
    if (!(Number.isFinite(leaseMs) && leaseMs >= 0)) problems.push('leaseMs must be >= 0')
    if (problems.length > 0) throw new LimiterInvalidError(`invalid concurrency limiter: ${problems.join('; ')}`, { data: { problems } })
    this.max = maxConcurrent
    this.maxQueue = maxQueue
    this.queueTimeoutMs = queueTimeoutMs
    this.leaseMs = leaseMs
    this.clock = clock
  }

  get inUse(): number {
    return this.held.size
  }

  get waiting(): number {
    return this.queue.length
  }

  /** A permit now, or null when all are held (nothing queued). */
  tryAcquire(): Permit | null {
    if (this.held.size >= this.max || this.queue.length > 0) return null
    return this.grant()
  }

  /** A permit now or, with a queue, when one is released; rejects with ERR_CONCURRENCY_LIMITED when the queue is full or the wait times out. */
  acquire(): Promise<Permit> {
    const now = this.tryAcquire()
    if (now !== null) return Promise.resolve(now)
    if (this.queue.length >= this.maxQueue) {
      this.counters.refused++
      return Promise.reject(new ConcurrencyLimitedError(`all ${this.max} permits are held and ${this.queue.length} callers wait`, { data: { inUse: this.held.size, waiting: this.queue.length } }))
    }
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: null }
      waiter.timer = this.clock.setTimer(this.queueTimeoutMs, () => {
        const at = this.queue.indexOf(waiter)
        if (at < 0) return
        this.queue.splice(at, 1)
        this.counters.timedOut++
        reject(new ConcurrencyLimitedError(`no permit within ${this.queueTimeoutMs} ms`, { data: { timeoutMs: this.queueTimeoutMs } }))
      })
      this.queue.push(waiter)
    })
  }

  /** Gives a permit back; false when it is unknown (already released, or its lease ended). */
  release(id: string): boolean {
    if (!this.held.has(id)) return false
    const timer = this.held.get(id)
    if (timer !== null && timer !== undefined) this.clock.clearTimer(timer)
    this.held.delete(id)
    this.handOver()
    return true
  }

  stats(): ConcurrencyStats {
    return { inUse: this.held.size, waiting: this.queue.length, ...this.counters }
  }

  private grant(): Permit {
    const id = `p${++this.nextId}`
    let timer: TimerHandle | null = null
    if (this.leaseMs > 0) {
      timer = this.clock.setTimer(this.leaseMs, () => {
        if (!this.held.delete(id)) return
        this.counters.expired++
        this.handOver()
      })
    }
    this.held.set(id, timer)
    this.counters.acquired++
    return { id, expiresAtMs: this.leaseMs > 0 ? this.clock.now() + this.leaseMs : Infinity }
  }

  private handOver(): void {
    while (this.held.size < this.max && this.queue.length > 0) {
      const waiter = this.queue.shift() as Waiter
      if (waiter.timer !== null) this.clock.clearTimer(waiter.timer)
      waiter.resolve(this.grant())
    }
  }
}

export interface ConcurrencyLimiterProtocol {
  acquire(): Promise<Permit>
  tryAcquire(): Permit | null
  release(id: string): boolean
  stats(): ConcurrencyStats
}

/** The concurrency limiter as an actor (reentrant: a queued `acquire` must not hold up the `release` that frees it). */
export class ConcurrencyLimiterActor extends Actor<ConcurrencyLimiterProtocol> implements ConcurrencyLimiterProtocol {
  static readonly reentrant = true
  private readonly limiter: ConcurrencyLimiter

  constructor(options: ConcurrencyLimiterOptions) {
    super()
    this.limiter = new ConcurrencyLimiter(options, this.context.system.clock)
  }

  acquire(): Promise<Permit> {
    return this.limiter.acquire()
  }

  tryAcquire(): Permit | null {
    return this.limiter.tryAcquire()
  }

  release(id: string): boolean {
    return this.limiter.release(id)
  }

  stats(): ConcurrencyStats {
    return this.limiter.stats()
  }
}

/** Runs `fn` holding a permit from a ConcurrencyLimiterActor, releasing it however `fn` ends. */
export async function withPermit<T>(limiter: ActorRef<ConcurrencyLimiterProtocol>, fn: () => Promise<T> | T): Promise<T> {
  const permit = await limiter.ask('acquire')
  try {
    return await fn()
  } finally {
    limiter.tell('release', permit.id)
  }
}
