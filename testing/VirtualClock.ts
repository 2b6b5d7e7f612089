import type { Clock, TimerHandle } from '../runtime/index.ts'

interface VirtualTimer extends TimerHandle {
  readonly at: number
  readonly seq: number
  callback: (() => void) | null
}

/**
 * A clock that only moves when told to. Timers fire in time order, and timers due at the same
 * instant fire in the order they were set, so a run is reproducible. Callbacks set during
 * `advance` that fall due within it fire in the same call.
 */
export class VirtualClock implements Clock {
  private current: number
  private seq = 0
  private readonly heap: VirtualTimer[] = []

  constructor(start = 0) {
    this.current = start
  }

  now(): number {
    return this.current
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: VirtualTimer = { id: ++this.seq, at: this.current + Math.max(0, delayMs), seq: this.seq, callback }
    this.push(timer)
    return timer
  }

  clearTimer(handle: TimerHandle): void {
    // Lazy deletion: a cleared timer stays in the heap with no callback and is skipped when due.
    ;(handle as VirtualTimer).callback = null
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.heap.filter((t) => t.callback !== null).length
  }

  /** When the next live timer is due, or undefined. */
  get nextDue(): number | undefined {
    this.dropCleared()
    return this.heap[0]?.at
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. Returns how many fired. */
  advance(ms: number): number {
    return this.advanceTo(this.current + ms)
  }

  advanceTo(time: number): number {
    let fired = 0
    for (;;) {
      this.dropCleared()
      const next = this.heap[0]
      if (next === undefined || next.at > time) break
      this.pop()
      this.current = Math.max(this.current, next.at)
      const callback = next.callback
      next.callback = null
      if (callback !== null) {
        fired++
        callback()
      }
    }
    this.current = Math.max(this.current, time)
    return fired
  }

  /** Fires the next due timer (jumping time to it); false when none is pending. */
  fireNext(): boolean {
    const due = this.nextDue
    if (due === undefined) return false
    this.advanceTo(due)
    return true
  }

  private dropCleared(): void {
    while (this.heap.length > 0 && (this.heap[0] as VirtualTimer).callback === null) this.pop()
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  private push(timer: VirtualTimer): void {
    const heap = this.heap
    heap.push(timer)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(heap[i] as VirtualTimer, heap[parent] as VirtualTimer)) break
      ;[heap[i], heap[parent]] = [heap[parent] as VirtualTimer, heap[i] as VirtualTimer]
      i = parent
    }
  }

  private pop(): VirtualTimer | undefined {
    const heap = this.heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let smallest = i
        if (l < heap.length && this.less(heap[l] as VirtualTimer, heap[smallest] as VirtualTimer)) smallest = l
        if (r < heap.length && this.less(heap[r] as VirtualTimer, heap[smallest] as VirtualTimer)) smallest = r
        if (smallest === i) break
        ;[heap[i], heap[smallest]] = [heap[smallest] as VirtualTimer, heap[i] as VirtualTimer]
        i = smallest
      }
    }
    return top
  }
}
