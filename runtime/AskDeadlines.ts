import type { Clock, TimerHandle } from './Clock.ts'
import { Deque } from './Deque.ts'

/** The FIFO of one timeout value. */
export class DeadlineQueue<T> {
  readonly items = new Deque<T>(16)
  /** Entries that settled before their deadline and still wait to be shed. */
  settled = 0
}

/** Something with a deadline that can settle before it. */
export interface Expirable {
  deadline: number
  readonly settled: boolean
  /** The queue it waits in (set by AskDeadlines.add), so settling it costs no lookup. */
  queue: DeadlineQueue<unknown> | null
  /** Called once when the deadline passes before the item settled. */
  expire(): void
}

/**
 * Ask timeouts without a host timer per ask (setTimeout + clear was a fifth of a round trip).
 * Asks with the same timeout expire in the order they were made, so each timeout value keeps a
 * FIFO, and one clock timer is armed for the earliest deadline. A settled ask is not removed at
 * once: it leaves when it reaches the head of its FIFO (it holds no callbacks by then), or when
 * settled entries dominate the FIFO (one ask that never answers must not pin every later one).
 */
export class AskDeadlines<T extends Expirable> {
  private readonly clock: Clock
  private readonly queues = new Map<number, DeadlineQueue<T>>()
  private handle: TimerHandle | null = null
  private armedFor = Infinity
  /** Items neither settled nor expired: at zero the timer is disarmed (a simulation idles at once). */
  private live = 0

  constructor(clock: Clock) {
    this.clock = clock
  }

  add(item: T, timeoutMs: number): void {
    const now = this.clock.now()
    item.deadline = now + timeoutMs
    let queue = this.queues.get(timeoutMs)
    if (queue === undefined) {
      queue = new DeadlineQueue<T>()
      this.queues.set(timeoutMs, queue)
    }
    const items = queue.items
    // Request-reply traffic settles asks in order: shedding settled heads keeps the FIFO near empty.
    while (items.length > 0 && (items.peek() as T).settled) {
      items.shift()
      queue.settled--
    }
    if (queue.settled >= 1024 && queue.settled * 2 > items.length) {
      const live = items.drain().filter((entry) => !entry.settled)
      for (const entry of live) items.push(entry)
      queue.settled = 0
    }
    items.push(item)
    this.live++
    item.queue = queue as DeadlineQueue<unknown>
    if (item.deadline < this.armedFor) this.arm(item.deadline, now)
  }

  /** `item` settled before its deadline; it stays queued until shed. */
  settledEarly(item: T): void {
    const queue = item.queue
    if (queue === null) return
    queue.settled++
    // Nothing left that could expire: a timer armed for a settled ask would only wake the clock.
    if (--this.live === 0 && this.handle !== null) {
      this.clock.clearTimer(this.handle)
      this.handle = null
      this.armedFor = Infinity
    }
  }

  /** Asks waiting (settled husks included), for tests and stats. */
  get size(): number {
    let size = 0
    for (const queue of this.queues.values()) size += queue.items.length
    return size
  }

  private arm(deadline: number, now: number): void {
    if (this.handle !== null) this.clock.clearTimer(this.handle)
    this.armedFor = deadline
    this.handle = this.clock.setTimer(Math.max(0, deadline - now), this.fire)
  }

  private readonly fire = (): void => {
    this.handle = null
    this.armedFor = Infinity
    const now = this.clock.now()
    let next = Infinity
    for (const [timeoutMs, queue] of this.queues) {
      const items = queue.items
      for (;;) {
        const head = items.peek()
        if (head === undefined) break
        if (head.settled) {
          items.shift()
          queue.settled--
        } else if (head.deadline <= now) {
          items.shift()
          // Out of the queue before it settles: its settling must not count as a husk.
          head.queue = null
          this.live--
          head.expire()
        } else {
          if (head.deadline < next) next = head.deadline
          break
        }
      }
      if (items.length === 0) this.queues.delete(timeoutMs)
    }
    // A host timer may fire a little early: a head not yet due just re-arms for the rest.
    if (next !== Infinity && next < this.armedFor) this.arm(next, now)
  }
}
