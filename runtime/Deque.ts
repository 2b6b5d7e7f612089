/**
 * A growable ring-buffer deque. Mailboxes and the run queue use it instead of arrays because
 * `Array#shift` is O(n) once V8 leaves its fast path, and a mailbox is a FIFO under constant churn.
 */
export class Deque<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0
  private mask: number

  constructor(initialCapacity = 8) {
    let capacity = 8
    while (capacity < initialCapacity) capacity *= 2
    this.items = new Array<T | undefined>(capacity)
    this.mask = capacity - 1
  }

  get length(): number {
    return this.count
  }

  push(item: T): void {
    if (this.count > this.mask) this.grow()
    this.items[(this.head + this.count) & this.mask] = item
    this.count++
  }

  unshift(item: T): void {
    if (this.count > this.mask) this.grow()
    this.head = (this.head - 1) & this.mask
    this.items[this.head] = item
    this.count++
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    // Clear the slot so a consumed message is not retained by the buffer.
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.count--
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out = new Array<T>(this.count)
    for (let i = 0; i < out.length; i++) out[i] = this.shift() as T
    return out
  }

  private grow(): void {
    const old = this.items
    const capacity = old.length * 2
    const next = new Array<T | undefined>(capacity)
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask]
    this.items = next
    this.head = 0
    this.mask = capacity - 1
  }
}
