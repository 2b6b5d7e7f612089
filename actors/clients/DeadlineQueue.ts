/** An entry of a DeadlineQueue: `done` once settled, `deadline` on the queue owner's clock. */
export interface Deadlined {
  readonly deadline: number
  done: boolean
}

/**
 * Calls in flight, oldest first, for owners that give every call the same timeout on one monotonic
 * clock: deadlines then rise along the queue, so a timer only needs the head's deadline and a sweep
 * stops at the first call still in time. A call that settles while it is the oldest (every call,
 * when calls run one at a time) leaves at once; one that settles before an older one stays, settled,
 * until the older ones have left or settled ones outnumber the live ones (then the queue is
 * compacted: memory stays within about twice the calls in flight, behind an older call that takes up
 * to the whole timeout). A Set did the same with two hash operations per call.
 *
 * The owner marks an entry `done` before calling `settled`.
 */
export class DeadlineQueue<T extends Deadlined> {
  private items: (T | undefined)[] = []
  private head = 0
  /** Calls not yet settled. */
  size = 0

  push(entry: T): void {
    this.items.push(entry)
    this.size++
  }

  /** `entry` (already marked done) has settled. */
  settled(entry: T): void {
    this.size--
    if (this.items[this.head] === entry) this.trim()
    else if (this.items.length - this.head > 2 * this.size + 64) this.compact()
  }

  /** The oldest unsettled call, or undefined. */
  oldest(): T | undefined {
    this.trim()
    return this.items[this.head]
  }

  /** The oldest unsettled call whose deadline has passed, or null. */
  expired(now: number): T | null {
    const entry = this.oldest()
    return entry !== undefined && entry.deadline <= now ? entry : null
  }

  /** Keeps only the live calls, in order (amortized O(1): at least `size + 64` calls settled since the last time). */
  private compact(): void {
    const live: (T | undefined)[] = []
    for (let i = this.head; i < this.items.length; i++) {
      const entry = this.items[i] as T
      if (!entry.done) live.push(entry)
    }
    this.items = live
    this.head = 0
  }

  /** Drops settled calls from the front; slices once the dead prefix is most of the array. */
  private trim(): void {
    const items = this.items
    let head = this.head
    while (head < items.length && (items[head] as T).done) items[head++] = undefined
    if (head === items.length) {
      items.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > items.length) {
      this.items = items.slice(head)
      head = 0
    }
    this.head = head
  }
}
