import type { Clock, TimerHandle } from './Clock.ts'
import { Deque } from './Deque.ts'

/** Something with a deadline that can settle before it. */
export interface Expirable {
  deadline: number
  readonly settled: boolean
  /** Called once when the deadline passes before the item settled. */
  expire(): void
}

/**
 * Ask timeouts without a host timer per ask (setTimeout + clear was a fifth of a round trip).
 * Asks with the same timeout expire in the order they were made, so each timeout value keeps a
 * FIFO, and one clock timer is armed for the earliest deadline. A settled ask is not removed at
 * once: it leaves when it reaches the head of its FIFO (it holds no callbacks by then).
 */
export class AskDeadlines<T extends Expirable> {
  private readonly clock: Clock
  private readonly queues = new Map<number, Deque<T>>()
  /** Settled entries still queued, per timeout value (they leave at the head, or by compaction). */
  private readonly settledCounts = new Map<number, number>()
  private handle: TimerHandle | null = null
  private armedFor = Infinity

  constructor(clock: Clock) {
    this.clock = clock
  }

  add(item: T, timeoutMs: number): void {
    const now = this.clock.now()
    item.deadline = now + timeoutMs
    let queue = this.queues.get(timeoutMs)
    if (queue === undefined) {
      queue = new Deque<T>(16)
      this.queues.set(timeoutMs, queue)
    }
    // Request-reply traffic settles asks in order: shedding settled heads keeps the FIFO near empty.
    while (queue.length > 0 && (queue.peek() as T).settled) {
      queue.shift()
      this.uncount(timeoutMs)
    }
    // One ask that never answers must not pin every later, settled one: compact when husks dominate.
    const settled = this.settledCounts.get(timeoutMs) ?? 0
    if (settled >= 1024 && settled * 2 > queue.length) {
      const live = queue.drain().filter((entry) => !entry.settled)
      for (const entry of live) queue.push(entry)
      this.settledCounts.delete(timeoutMs)
    }
    queue.push(item)
    if (item.deadline < this.armedFor) this.arm(item.deadline, now)
  }

  /** An item with this timeout settled before its deadline (it stays queued until shed). */
  settledOne(timeoutMs: number): void {
    this.settledCounts.set(timeoutMs, (this.settledCounts.get(timeoutMs) ?? 0) + 1)
  }

  private uncount(timeoutMs: number): void {
    const count = (this.settledCounts.get(timeoutMs) ?? 0) - 1
    if (count > 0) this.settledCounts.set(timeoutMs, count)
    else this.settledCounts.delete(timeoutMs)
  }

  /** Asks waiting (settled husks included), for tests and stats. */
  get size(): number {
    let size = 0
    for (const queue of this.queues.values()) size += queue.length
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
      for (;;) {
        const head = queue.peek()
        if (head === undefined) break
        if (head.settled) {
          queue.shift()
          this.uncount(timeoutMs)
        } else if (head.deadline <= now) {
          queue.shift()
          head.expire()
        } else {
          if (head.deadline < next) next = head.deadline
          break
        }
      }
      if (queue.length === 0) {
        this.queues.delete(timeoutMs)
        this.settledCounts.delete(timeoutMs)
      }
    }
    // A host timer may fire a little early: a head not yet due just re-arms for the rest.
    if (next !== Infinity && next < this.armedFor) this.arm(next, now)
  }
}
