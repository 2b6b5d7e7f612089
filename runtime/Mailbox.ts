import { Deque } from './Deque.ts'
import type { Envelope } from './Envelope.ts'
import { InvalidArgumentError } from './errors.ts'

/** What a full mailbox does with one more message. */
export type OverflowPolicy = 'reject' | 'drop-newest' | 'drop-oldest'

export interface MailboxOptions {
  /** Most user messages held at once; `Infinity` makes the mailbox unbounded. Default 10 000. */
  readonly capacity?: number
  /**
   * `reject`: `tell` throws MailboxFullError and `ask` rejects with it (the default).
   * `drop-newest`: the new message goes to dead letters. `drop-oldest`: the oldest queued one does.
   */
  readonly overflow?: OverflowPolicy
  /**
   * Priority lanes for user messages: `of` maps a message to a level in `[0, levels)`, 0 first.
   * Within a level, order is FIFO.
   */
  readonly priority?: {
    readonly levels: number
    of(method: string, args: readonly unknown[]): number
  }
}

export const DEFAULT_MAILBOX_CAPACITY = 10_000

/** Outcome of posting a user message. */
export const PostResult = {
  Posted: 0,
  /** Full, policy `reject`: nothing was queued. */
  Rejected: 1,
  /** Full, policy `drop-newest`: the posted message was not queued. */
  DroppedNewest: 2,
  /** Full, policy `drop-oldest`: the posted message was queued; `evicted` holds the one dropped. */
  DroppedOldest: 3,
} as const
export type PostResult = (typeof PostResult)[keyof typeof PostResult]

interface CapacityWaiter {
  envelope: Envelope
  resolve: () => void
  reject: (error: Error) => void
}

/**
 * Two lanes: system messages (lifecycle, supervision, death watch) are always taken before user
 * messages. The user lane is bounded by default with an explicit overflow policy, optionally split
 * into priority levels, and offers a backpressure path (`offer`) that waits for room instead of
 * failing. Not thread-safe: a mailbox lives on one event loop; other threads reach it through rings.
 */
export class Mailbox<S> {
  readonly capacity: number
  readonly overflow: OverflowPolicy
  private readonly systemLane = new Deque<S>(4)
  private readonly userLane: Deque<Envelope>
  private readonly levels: Deque<Envelope>[] | null
  private readonly priorityOf: ((method: string, args: readonly unknown[]) => number) | null
  private userCount = 0
  private waiters: Deque<CapacityWaiter> | null = null
  /** After `DroppedOldest`, the message that was evicted. */
  evicted: Envelope | null = null
  /** Messages admitted from `offer` waiters by `takeUser` since the owner last reset it. */
  admitted = 0

  constructor(options: MailboxOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_MAILBOX_CAPACITY
    if (!(capacity >= 1)) throw new InvalidArgumentError(`mailbox capacity must be >= 1, got ${capacity}`)
    this.capacity = capacity
    this.overflow = options.overflow ?? 'reject'
    this.userLane = new Deque<Envelope>(8)
    const priority = options.priority
    if (priority && priority.levels > 1) {
      this.levels = []
      for (let i = 0; i < priority.levels; i++) this.levels.push(i === 0 ? this.userLane : new Deque<Envelope>(8))
      this.priorityOf = priority.of
    } else {
      this.levels = null
      this.priorityOf = null
    }
  }

  get userSize(): number {
    return this.userCount
  }

  get systemSize(): number {
    return this.systemLane.length
  }

  get hasSystem(): boolean {
    return this.systemLane.length > 0
  }

  get hasUser(): boolean {
    return this.userCount > 0
  }

  /** Someone waits in `offer` for room. */
  get hasWaiters(): boolean {
    return this.waiters !== null && this.waiters.length > 0
  }

  get isFull(): boolean {
    return this.userCount >= this.capacity
  }

  postSystem(message: S): void {
    this.systemLane.push(message)
  }

  takeSystem(): S | undefined {
    return this.systemLane.shift()
  }

  postUser(envelope: Envelope): PostResult {
    if (this.userCount >= this.capacity) {
      if (this.overflow === 'reject') return PostResult.Rejected
      if (this.overflow === 'drop-newest') return PostResult.DroppedNewest
      this.evicted = this.evictOldest()
      this.enqueue(envelope)
      return PostResult.DroppedOldest
    }
    this.enqueue(envelope)
    return PostResult.Posted
  }

  /** Waits for room instead of applying the overflow policy. Resolves once the message is queued. */
  offer(envelope: Envelope): Promise<void> {
    if (this.userCount < this.capacity && (this.waiters === null || this.waiters.length === 0)) {
      this.enqueue(envelope)
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      if (this.waiters === null) this.waiters = new Deque<CapacityWaiter>(4)
      this.waiters.push({ envelope, resolve, reject })
    })
  }

  takeUser(): Envelope | undefined {
    const envelope = this.takeUserNoAdmit()
    const waiters = this.waiters
    if (envelope !== undefined && waiters !== null && waiters.length > 0) {
      const waiter = waiters.shift() as CapacityWaiter
      this.enqueue(waiter.envelope)
      this.admitted++
      waiter.resolve()
    }
    return envelope
  }

  /** Puts messages back at the front (unstash), oldest first; may exceed capacity briefly. */
  prependUser(envelopes: readonly Envelope[]): void {
    for (let i = envelopes.length - 1; i >= 0; i--) {
      const envelope = envelopes[i] as Envelope
      this.laneFor(envelope).unshift(envelope)
      this.userCount++
    }
  }

  /** Empties the user lane (and the waiters, whose messages are returned too) for dead letters. */
  drainUser(): Envelope[] {
    const out: Envelope[] = []
    let envelope: Envelope | undefined
    while ((envelope = this.takeUserNoAdmit()) !== undefined) out.push(envelope)
    const waiters = this.waiters
    if (waiters !== null) {
      let waiter: CapacityWaiter | undefined
      while ((waiter = waiters.shift()) !== undefined) out.push(waiter.envelope)
    }
    return out
  }

  /** Fails everyone waiting for room (the actor stopped). */
  rejectWaiters(error: Error): void {
    const waiters = this.waiters
    if (waiters === null) return
    let waiter: CapacityWaiter | undefined
    while ((waiter = waiters.shift()) !== undefined) waiter.reject(error)
  }

  drainSystem(): S[] {
    return this.systemLane.drain()
  }

  private takeUserNoAdmit(): Envelope | undefined {
    if (this.userCount === 0) return undefined
    let envelope: Envelope | undefined
    if (this.levels === null) envelope = this.userLane.shift()
    else for (let i = 0; i < this.levels.length && envelope === undefined; i++) envelope = (this.levels[i] as Deque<Envelope>).shift()
    this.userCount--
    return envelope
  }

  private laneFor(envelope: Envelope): Deque<Envelope> {
    if (this.levels === null || this.priorityOf === null) return this.userLane
    const raw = this.priorityOf(envelope.method, envelope.args)
    const level = Math.min(this.levels.length - 1, Math.max(0, raw | 0))
    return this.levels[level] as Deque<Envelope>
  }

  private enqueue(envelope: Envelope): void {
    this.laneFor(envelope).push(envelope)
    this.userCount++
  }

  /** The oldest message of the least urgent non-empty level goes first. */
  private evictOldest(): Envelope {
    if (this.levels === null) {
      this.userCount--
      return this.userLane.shift() as Envelope
    }
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const lane = this.levels[i] as Deque<Envelope>
      if (lane.length > 0) {
        this.userCount--
        return lane.shift() as Envelope
      }
    }
    throw new Error('unreachable: evicting from an empty mailbox')
  }
}
