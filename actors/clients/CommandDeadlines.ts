import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { DeadlineQueue } from './DeadlineQueue.ts'

/** One command out: it settles once, with its reply, its error or its deadline, whichever comes first. */
class Outstanding {
  readonly command: string
  readonly deadline: number
  resolve: (value: unknown) => void = noop
  reject: (error: Error) => void = noop
  done = false

  constructor(command: string, deadline: number) {
    this.command = command
    this.deadline = deadline
  }
}

const noop = (): void => {}

/**
 * Bounds a client's commands by its command timeout with one host timer for all of them, instead of
 * ioredis's `commandTimeout` (a host setTimeout armed and cleared per command: ~1–5 µs of a 25–45 µs
 * GET on our machines, which a raw GET does not pay). Every command gets the same timeout on one
 * monotonic clock, so deadlines rise in the order commands leave: the timer is armed for the oldest
 * one's deadline, exactly, and re-armed for the next when it fires. A command that settles while it
 * is the oldest (each one, when commands run one at a time) leaves the queue at once; one that
 * settles before an older one stays, settled and holding nothing, until the older ones have left or
 * settled ones outnumber live ones (then the queue is compacted).
 *
 * A reply after the deadline is dropped (its rejection too: nothing is left unhandled).
 */
export class CommandDeadlines {
  private readonly clock: Clock
  private readonly timeoutMs: number
  /** Maps whatever the command rejected with (or `timedOut()` at the deadline) to the client's typed error. */
  private readonly fail: (error: unknown, command: string) => Error
  private readonly queue = new DeadlineQueue<Outstanding>()
  private timer: TimerHandle | null = null
  private readonly fireBound = (): void => this.fire()

  constructor(clock: Clock, timeoutMs: number, fail: (error: unknown, command: string) => Error) {
    this.clock = clock
    this.timeoutMs = timeoutMs
    this.fail = fail
  }

  /** Commands not yet settled. */
  get size(): number {
    return this.queue.size
  }

  /** `reply`, failing at the deadline with `fail(timedOut(), command)`; its own rejection mapped with `fail`. */
  bound<T>(reply: Promise<T>, command: string): Promise<T> {
    const entry = new Outstanding(command, this.clock.now() + this.timeoutMs)
    const promise = new Promise<T>((resolve, reject) => {
      entry.resolve = resolve as (value: unknown) => void
      entry.reject = reject
    })
    this.queue.push(entry)
    if (this.timer === null) this.timer = this.clock.setTimer(this.timeoutMs, this.fireBound)
    reply.then(
      (value) => {
        if (entry.done) return
        const resolve = entry.resolve
        this.settle(entry)
        resolve(value)
      },
      (error: unknown) => {
        if (entry.done) return
        const reject = entry.reject
        this.settle(entry)
        reject(this.fail(error, entry.command))
      },
    )
    return promise
  }

  /** The error a command that outlived its deadline rejects with, before mapping (ioredis's own wording). */
  static timedOut(): Error {
    return new Error('Command timed out')
  }

  private settle(entry: Outstanding): void {
    entry.done = true
    entry.resolve = noop
    entry.reject = noop
    this.queue.settled(entry)
  }

  private fire(): void {
    this.timer = null
    const now = this.clock.now()
    for (;;) {
      const entry = this.queue.oldest()
      if (entry === undefined) return
      if (entry.deadline > now) {
        this.timer = this.clock.setTimer(entry.deadline - now, this.fireBound)
        return
      }
      const reject = entry.reject
      this.settle(entry)
      reject(this.fail(CommandDeadlines.timedOut(), entry.command))
    }
  }

  /** Stops the timer (the client is gone); commands still out settle with their replies or the connection's end. */
  close(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer)
    this.timer = null
  }
}
