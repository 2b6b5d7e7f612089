import type { NatsConnection } from '@nats-io/nats-core'
import type { Clock, TimerHandle } from '../../../../runtime/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'

type Callback = (error: Error | null, msg: { subject: string; data: Uint8Array }) => void

/**
 * Just enough of a NATS server for memberships on virtual time: one world clock, connections that
 * can be paused (the process is stopped: nothing is read, no timer runs) or cut off (the server
 * stalls: nothing reaches them and their flushes wait). What a connection cannot take waits in its
 * queue, in publish order, as it would in its socket.
 */
export class FakeBus {
  readonly world = new VirtualClock(0)
  readonly connections: FakeConnection[] = []
  stalled = false

  connect(): FakeConnection {
    const connection = new FakeConnection(this)
    this.connections.push(connection)
    return connection
  }

  route(subject: string, data: Uint8Array): void {
    for (const connection of this.connections) connection.enqueue(subject, data)
  }

  /** The server resumes: every connection that can read does so. */
  unstall(): void {
    this.stalled = false
    for (const connection of this.connections) connection.drain()
  }

  /** Moves world time in steps, letting promises (flushes) settle between steps. */
  async run(ms: number, step = 10): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.world.advance(Math.min(step, ms - t))
      await settle()
    }
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

export class FakeConnection {
  private readonly bus: FakeBus
  private readonly subscriptions = new Map<string, Callback>()
  private readonly queue: { subject: string; data: Uint8Array }[] = []
  private readonly flushes: (() => void)[] = []
  /** The process is stopped: it reads nothing. */
  paused = false
  closed = false
  /** Messages published through this connection. */
  readonly published: { subject: string; data: Uint8Array }[] = []

  constructor(bus: FakeBus) {
    this.bus = bus
  }

  get reading(): boolean {
    return !this.paused && !this.bus.stalled
  }

  get pending(): number {
    return this.queue.length
  }

  enqueue(subject: string, data: Uint8Array): void {
    if (!this.subscriptions.has(subject)) return
    this.queue.push({ subject, data })
    if (this.reading) this.drain()
  }

  /** Reads what waits, in order, then completes the flushes that waited behind it. */
  drain(): void {
    if (!this.reading) return
    while (this.queue.length > 0) {
      const next = this.queue.shift() as { subject: string; data: Uint8Array }
      this.subscriptions.get(next.subject)?.(null, next)
      if (!this.reading) return
    }
    for (const done of this.flushes.splice(0)) done()
  }

  asNats(): NatsConnection {
    return {
      subscribe: (subject: string, options: { callback: Callback }) => {
        this.subscriptions.set(subject, options.callback)
        return { unsubscribe: () => this.subscriptions.delete(subject) }
      },
      publish: (subject: string, data: Uint8Array) => {
        if (this.paused) throw new Error('a stopped process cannot publish')
        this.published.push({ subject, data })
        this.bus.route(subject, data)
      },
      flush: () =>
        new Promise<void>((resolve) => {
          this.flushes.push(resolve)
          this.drain()
        }),
      isClosed: () => this.closed,
    } as unknown as NatsConnection
  }
}

/**
 * The clock of a process that can be stopped (SIGSTOP): time goes on, but its timers only fire once
 * it runs again, late.
 */
export class PausableClock implements Clock {
  private readonly world: VirtualClock
  private paused = false
  private deferred: (() => void)[] = []

  constructor(world: VirtualClock) {
    this.world = world
  }

  now(): number {
    return this.world.now()
  }

  setTimer(ms: number, callback: () => void): TimerHandle {
    return this.world.setTimer(ms, () => {
      if (this.paused) this.deferred.push(callback)
      else callback()
    })
  }

  clearTimer(handle: TimerHandle): void {
    this.world.clearTimer(handle)
  }

  pause(): void {
    this.paused = true
  }

  /** Runs again: the timers that fell due meanwhile fire now, late. */
  resume(): void {
    this.paused = false
    const due = this.deferred
    this.deferred = []
    for (const callback of due) callback()
  }
}
