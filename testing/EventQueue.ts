import type { TimerHandle } from '../runtime/index.ts'

/**
 * Something due at a virtual instant: a timer, a frame arriving, a fault, a detector tick.
 * It is its own TimerHandle (`id`), so cancelling needs no lookup.
 */
export class SimEvent implements TimerHandle {
  readonly id: number
  time: number
  /** Seeded tie-break: events due at the same instant fire in this order. */
  order: number
  /** Insertion order, the last tie-break (keeps FIFO links FIFO when `order` ties). */
  readonly seq: number
  /** Null once fired or cancelled. */
  fn: (() => void) | null
  /** Who owns it (a process that may pause or crash); null for simulation-wide events. */
  readonly owner: object | null
  /** Background events (failure-detector ticks) do not keep a simulation from being idle. */
  readonly background: boolean
  readonly kind: number
  /** What to say about it in a trace. */
  readonly subject: unknown
  /** In the heap (not yet popped, extracted or fired). */
  queued = false

  constructor(seq: number, time: number, order: number, fn: () => void, owner: object | null, background: boolean, kind: number, subject: unknown) {
    this.id = seq
    this.seq = seq
    this.time = time
    this.order = order
    this.fn = fn
    this.owner = owner
    this.background = background
    this.kind = kind
    this.subject = subject
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && (a.order < b.order || (a.order === b.order && a.seq < b.seq)))
}

/**
 * A binary min-heap of events by (time, seeded order, seq). Cancelled events stay in the heap and
 * are skipped when they reach the top; when they outnumber the live ones the heap is rebuilt, so a
 * storm of answered asks (each arms and clears a timeout) cannot grow it without bound.
 */
export class EventQueue {
  private heap: SimEvent[] = []
  private cancelled = 0
  /** Live events that are not background. */
  foreground = 0

  get size(): number {
    return this.heap.length - this.cancelled
  }

  push(event: SimEvent): void {
    event.queued = true
    if (!event.background) this.foreground++
    const heap = this.heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = heap[parent] as SimEvent
      if (!before(event, p)) break
      heap[i] = p
      i = parent
    }
    heap[i] = event
  }

  /** Cancels a pending event (queued or held elsewhere); a fired or cancelled one is left alone. */
  cancel(event: SimEvent): void {
    if (event.fn === null) return
    event.fn = null
    if (!event.queued) return
    if (!event.background) this.foreground--
    this.cancelled++
    if (this.cancelled > 1024 && this.cancelled * 2 > this.heap.length) this.compact()
  }

  /** The next live event, without removing it. */
  peek(): SimEvent | undefined {
    const heap = this.heap
    while (heap.length > 0 && (heap[0] as SimEvent).fn === null) {
      this.removeTop()
      this.cancelled--
    }
    return heap[0]
  }

  /** Removes and returns the next live event (its `fn` still set: the caller runs it). */
  pop(): SimEvent | undefined {
    const top = this.peek()
    if (top === undefined) return undefined
    this.removeTop()
    top.queued = false
    if (!top.background) this.foreground--
    return top
  }

  /** Removes every live event for which `match` holds (a crashed process's timers) and returns them. */
  extract(match: (event: SimEvent) => boolean): SimEvent[] {
    const taken: SimEvent[] = []
    const kept: SimEvent[] = []
    for (const event of this.heap) {
      if (event.fn === null) continue
      if (match(event)) taken.push(event)
      else kept.push(event)
    }
    for (const event of taken) {
      event.queued = false
      if (!event.background) this.foreground--
    }
    this.rebuild(kept)
    taken.sort((a, b) => (before(a, b) ? -1 : 1))
    return taken
  }

  private compact(): void {
    this.rebuild(this.heap.filter((e) => e.fn !== null))
  }

  private rebuild(events: SimEvent[]): void {
    events.sort((a, b) => (before(a, b) ? -1 : 1))
    // A sorted array is a valid heap.
    this.heap = events
    this.cancelled = 0
  }

  private removeTop(): void {
    const heap = this.heap
    const last = heap.pop() as SimEvent
    const n = heap.length
    if (n === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      let child = l
      if (r < n && before(heap[r] as SimEvent, heap[l] as SimEvent)) child = r
      const c = heap[child] as SimEvent
      if (!before(c, last)) break
      heap[i] = c
      i = child
    }
    heap[i] = last
  }
}
