import type { Clock, TimerHandle } from './Clock.ts'
import type { MethodArgs, MethodName } from './Protocol.ts'
import { InvalidArgumentError } from './errors.ts'

/** @internal A keyed timer; its identity is what makes a stale firing recognisable. */
export interface TimerEntry {
  readonly key: string
  readonly method: string
  readonly args: unknown[]
  /** 0 for a single-shot timer. */
  readonly intervalMs: number
  handle: TimerHandle | null
}

/** @internal How timers reach their actor. */
export interface TimerOwner {
  readonly clock: Clock
  /** Queues the timer's message in the owner's mailbox. */
  deliverTimer(entry: TimerEntry): void
}

/**
 * Keyed timers that send a message to their own actor, on the injected clock. Starting a key that
 * is active replaces it; a cancelled or replaced timer's message is never handled, even if it was
 * already queued (the runtime checks the entry on delivery). All timers are cancelled when the actor
 * stops or restarts.
 */
export class Timers<P> {
  private readonly entries = new Map<string, TimerEntry>()
  private readonly owner: TimerOwner

  /** @internal */
  constructor(owner: TimerOwner) {
    this.owner = owner
  }

  /** Sends `method(...args)` to self once, after `delayMs`. */
  startSingle<K extends MethodName<P>>(key: string, delayMs: number, method: K, ...args: MethodArgs<P, K>): void {
    this.start(key, delayMs, 0, method, args)
  }

  /** Sends `method(...args)` to self every `intervalMs` (each firing arms the next), first after `intervalMs`. */
  startPeriodic<K extends MethodName<P>>(key: string, intervalMs: number, method: K, ...args: MethodArgs<P, K>): void {
    if (!(intervalMs > 0)) throw new InvalidArgumentError(`periodic timer interval must be > 0, got ${intervalMs}`)
    this.start(key, intervalMs, intervalMs, method, args)
  }

  isActive(key: string): boolean {
    return this.entries.has(key)
  }

  get activeKeys(): string[] {
    return [...this.entries.keys()]
  }

  cancel(key: string): void {
    const entry = this.entries.get(key)
    if (entry === undefined) return
    this.entries.delete(key)
    if (entry.handle !== null) this.owner.clock.clearTimer(entry.handle)
  }

  cancelAll(): void {
    for (const key of [...this.entries.keys()]) this.cancel(key)
  }

  /** @internal True when a firing of `entry` should still be handled (and retires single timers). */
  acceptFiring(entry: TimerEntry): boolean {
    if (this.entries.get(entry.key) !== entry) return false
    if (entry.intervalMs === 0) this.entries.delete(entry.key)
    return true
  }

  private start(key: string, delayMs: number, intervalMs: number, method: string, args: unknown[]): void {
    if (!(delayMs >= 0)) throw new InvalidArgumentError(`timer delay must be >= 0, got ${delayMs}`)
    this.cancel(key)
    const entry: TimerEntry = { key, method, args, intervalMs, handle: null }
    this.entries.set(key, entry)
    this.arm(entry, delayMs)
  }

  private arm(entry: TimerEntry, delayMs: number): void {
    entry.handle = this.owner.clock.setTimer(delayMs, () => {
      if (this.entries.get(entry.key) !== entry) return
      if (entry.intervalMs > 0) this.arm(entry, entry.intervalMs)
      else entry.handle = null
      this.owner.deliverTimer(entry)
    })
  }
}
