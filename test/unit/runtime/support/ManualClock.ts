import type { Clock, TimerHandle } from '../../../../runtime/index.ts'

interface ManualTimer extends TimerHandle {
  readonly at: number
  /** Null once fired or cleared, so a cleared timer retains nothing while it waits in the heap. */
  callback: (() => void) | null
}

/**
 * A clock that moves only when the test calls `advance`. Timers fire in due order (ties in the
 * order they were set), including timers armed by a firing callback within the same advance.
 * A binary heap keeps a million pending ask timeouts cheap.
 */
export class ManualClock implements Clock {
  private time = 0
  private nextId = 1
  private heap: ManualTimer[] = []
  private live = 0

  now(): number {
    return this.time
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: ManualTimer = { id: this.nextId++, at: this.time + Math.max(0, delayMs), callback }
    this.push(timer)
    this.live++
    return timer
  }

  clearTimer(handle: TimerHandle): void {
    const timer = handle as ManualTimer
    if (timer.callback === null) return
    timer.callback = null
    this.live--
  }

  /** Timers armed and neither fired nor cleared. */
  get pending(): number {
    return this.live
  }

  /** Moves time forward by `ms`, firing every timer due by then. */
  advance(ms: number): void {
    const target = this.time + ms
    for (;;) {
      const next = this.heap[0]
      if (next === undefined || next.at > target) break
      this.pop()
      const callback = next.callback
      if (callback === null) continue
      next.callback = null
      this.live--
      this.time = next.at
      callback()
    }
    this.time = target
  }

  private before(a: ManualTimer, b: ManualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id)
  }

  private push(timer: ManualTimer): void {
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(heap[i] as ManualTimer, heap[parent] as ManualTimer)) break
      ;[heap[i], heap[parent]] = [heap[parent] as ManualTimer, heap[i] as ManualTimer]
      i = parent
    }
  }

  private pop(): void {
    const heap = this.heap
    const last = heap.pop() as ManualTimer
    if (heap.length === 0) return
    heap[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && this.before(heap[left] as ManualTimer, heap[smallest] as ManualTimer)) smallest = left
      if (right < heap.length && this.before(heap[right] as ManualTimer, heap[smallest] as ManualTimer)) smallest = right
      if (smallest === i) break
      ;[heap[i], heap[smallest]] = [heap[smallest] as ManualTimer, heap[i] as ManualTimer]
      i = smallest
    }
  }
}
