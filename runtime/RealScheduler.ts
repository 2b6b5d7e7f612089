import { Deque } from './Deque.ts'
import type { Runnable, Scheduler } from './Scheduler.ts'

export interface RealSchedulerOptions {
  /** Messages one actor handles per turn before the next actor runs. Default 100. */
  readonly throughput?: number
  /** Longest run, in ms, before yielding to the event loop so I/O is never starved. Default 5. */
  readonly sliceMs?: number
  /** Most turns per slice, whatever the time; a cap that holds even with a coarse timer. Default 10000. */
  readonly maxTurnsPerSlice?: number
}

/**
 * A settled promise to hang drains on. `resolved.then(drain)` queues the same kind of microtask as
 * `queueMicrotask(drain)`, in the same FIFO, but Node's queueMicrotask also makes an AsyncResource
 * and a bound function per call: about a tenth of an ask round trip, once per drain.
 */
const resolved = Promise.resolve()

/**
 * The production dispatcher. A run queue of actors with mail, drained in turns. The first drain after
 * idle starts on a microtask (low latency for a tell from plain code); once a slice has used its
 * time or turn budget, the next slice waits for `setImmediate` so timers and sockets get their turn.
 * One closure is bound once per scheduler; none is made per message or per turn.
 *
 * `defer` callbacks registered during a drain run every 8 turns and when the drain ends, not only
 * at the end of a slice: a transport flushes what those turns produced as one batch, and a frame
 * (a reply, a credit) never waits the rest of a 5 ms slice behind a busy actor.
 */
export class RealScheduler implements Scheduler {
  readonly throughput: number
  private readonly sliceMs: number
  private readonly maxTurnsPerSlice: number
  private readonly runQueue = new Deque<Runnable>(64)
  private armed = false
  private draining = false
  private deferred: (() => void)[] = []
  private readonly drainBound = (): void => this.drain()

  constructor(options: RealSchedulerOptions = {}) {
    this.throughput = options.throughput ?? 100
    this.sliceMs = options.sliceMs ?? 5
    this.maxTurnsPerSlice = options.maxTurnsPerSlice ?? 10_000
  }

  schedule(task: Runnable): void {
    this.runQueue.push(task)
    if (!this.armed) {
      this.armed = true
      void resolved.then(this.drainBound)
    }
  }

  defer(callback: () => void): void {
    if (this.draining) this.deferred.push(callback)
    else queueMicrotask(callback)
  }

  poll(callback: () => void): void {
    setImmediate(callback) // host task: after this iteration's I/O, the real scheduler's job
  }

  private drain(): void {
    // The slice's start is read lazily at the first budget check: a short drain (one message, the
    // common case in request-reply traffic) then reads no clock at all.
    let started = -1
    const queue = this.runQueue
    let turns = 0
    this.draining = true
    for (;;) {
      if (queue.length > 0) {
        const task = queue.shift() as Runnable
        let more: boolean
        try {
          more = task.run(this.throughput)
        } catch (error) {
          // Tasks must not throw; if one does, keep the dispatcher alive for everyone else.
          this.endDrain()
          setImmediate(this.drainBound) // host task: this file is the real scheduler (lint-exempt)
          // Reported as an uncaught exception, as a throwing queueMicrotask callback would be (a
          // throw here would only reject the promise the drain hangs on).
          queueMicrotask(() => {
            throw error
          })
          return
        }
        if (more) queue.push(task)
      } else if (this.deferred.length > 0) {
        // Deferred callbacks (transport flushes) run once the queue is empty, as a turn of their own:
        // tasks they schedule, and callbacks they defer, continue this slice under its budget.
        this.runDeferred()
      } else {
        break
      }
      turns++
      // The clock is read every 8 turns (a turn is up to `throughput` messages), so a long slice
      // overruns its budget by at most 8 turns and a one-message drain reads no clock at all.
      if ((turns & 7) === 0) {
        if (this.deferred.length > 0) this.runDeferred()
        if (started < 0) started = performance.now() // host time: the real scheduler's own slice budget
        else if (turns >= this.maxTurnsPerSlice || performance.now() - started >= this.sliceMs) { // host time, as above
          this.endDrain()
          setImmediate(this.drainBound) // yield to I/O: the real scheduler's job
          return
        }
      }
    }
    this.draining = false
    this.armed = false
  }

  private endDrain(): void {
    this.draining = false
    if (this.deferred.length > 0) this.runDeferred()
  }

  private runDeferred(): void {
    const callbacks = this.deferred
    this.deferred = []
    for (const callback of callbacks) {
      try {
        callback()
      } catch (error) {
        // As a throwing microtask would have: reported, without skipping the other callbacks.
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }
}
