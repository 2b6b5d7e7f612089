/**
 * The breaker's sliding windows. Both keep running totals, so recording a call and reading the rates
 * are O(1) (a time window also clears the buckets that time has passed, at most its size, amortised
 * O(1) per second of time).
 */
export interface SlidingWindow {
  /** Calls, failed calls and slow calls in the window as of `now`. */
  readonly calls: number
  readonly failed: number
  readonly slow: number
  record(now: number, failed: boolean, slow: boolean): void
  /** Drops what has slid out of the window by `now` (a no-op for a count window). */
  advance(now: number): void
  reset(): void
}

const FAILED = 1
const SLOW = 2

/** The last `size` calls (resilience4j's COUNT_BASED): a ring of outcome flags. */
export class CountWindow implements SlidingWindow {
  calls = 0
  failed = 0
  slow = 0
  private readonly ring: Uint8Array
  private head = 0

  constructor(size: number) {
    this.ring = new Uint8Array(size)
  }

  record(_now: number, failed: boolean, slow: boolean): void {
    const size = this.ring.length
    if (this.calls === size) {
      // Full: the oldest entry (at head) leaves as the new one takes its slot.
      const old = this.ring[this.head] as number
      if ((old & FAILED) !== 0) this.failed--
      if ((old & SLOW) !== 0) this.slow--
    } else {
      this.calls++
    }
    this.ring[this.head] = (failed ? FAILED : 0) | (slow ? SLOW : 0)
    if (failed) this.failed++
    if (slow) this.slow++
    this.head = this.head + 1 === size ? 0 : this.head + 1
  }

  advance(_now: number): void {}

  reset(): void {
    this.calls = 0
    this.failed = 0
    this.slow = 0
    this.head = 0
    this.ring.fill(0)
  }
}

/**
 * The calls of the last `seconds` seconds (resilience4j's TIME_BASED, Polly's sampling duration): a
 * ring of one bucket per second of the injected clock. The current second's bucket is partial, so
 * the window spans between `seconds - 1` and `seconds` seconds of history.
 */
export class TimeWindow implements SlidingWindow {
  calls = 0
  failed = 0
  slow = 0
  private readonly bucketCalls: Float64Array
  private readonly bucketFailed: Float64Array
  private readonly bucketSlow: Float64Array
  /** The newest second with a bucket; everything older than `headSecond - size + 1` is gone. */
  private headSecond = Number.NEGATIVE_INFINITY

  constructor(seconds: number) {
    this.bucketCalls = new Float64Array(seconds)
    this.bucketFailed = new Float64Array(seconds)
    this.bucketSlow = new Float64Array(seconds)
  }

  record(now: number, failed: boolean, slow: boolean): void {
    this.advance(now)
    const index = this.indexOf(this.headSecond)
    this.bucketCalls[index]!++
    this.calls++
    if (failed) {
      this.bucketFailed[index]!++
      this.failed++
    }
    if (slow) {
      this.bucketSlow[index]!++
      this.slow++
    }
  }

  advance(now: number): void {
    const second = Math.floor(now / 1000)
    if (second <= this.headSecond) return
    const size = this.bucketCalls.length
    if (second - this.headSecond >= size) {
      // Everything slid out: one clear instead of `size` subtractions.
      this.reset()
      this.headSecond = second
      return
    }
    // Clear the buckets of the seconds we moved past (each second reuses the slot of `second - size`).
    for (let s = this.headSecond + 1; s <= second; s++) {
      const index = this.indexOf(s)
      this.calls -= this.bucketCalls[index] as number
      this.failed -= this.bucketFailed[index] as number
      this.slow -= this.bucketSlow[index] as number
      this.bucketCalls[index] = 0
      this.bucketFailed[index] = 0
      this.bucketSlow[index] = 0
    }
    this.headSecond = second
  }

  reset(): void {
    this.calls = 0
    this.failed = 0
    this.slow = 0
    this.bucketCalls.fill(0)
    this.bucketFailed.fill(0)
    this.bucketSlow.fill(0)
    this.headSecond = Number.NEGATIVE_INFINITY
  }

  private indexOf(second: number): number {
    const size = this.bucketCalls.length
    return ((second % size) + size) % size
  }
}
