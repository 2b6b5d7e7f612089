import { DeadLetterTopic, LifecycleTopic, type ActorInfo, type ActorSystem, type Clock, type Envelope, type MailboxHooks, type Subscription, type TimerHandle } from '../../runtime/index.ts'
import { SupervisorEventTopic } from '../../supervision/index.ts'
import type { DeadLetterRecord, FailureRecord } from './types.ts'

/** As recorded: clock times, turned into ages when answered. */
type StoredFailure = Omit<FailureRecord, 'agoMs'> & { readonly at: number }
type StoredLetter = Omit<DeadLetterRecord, 'agoMs'> & { readonly at: number }

/** How long per-actor counting stays on after the last introspection request (ms). */
export const WATCH_LEASE_MS = 30_000
/** Paths whose restarts and last failure are remembered (oldest forgotten first). */
const MAX_FAILED_PATHS = 10_000
/** Recent dead letters kept for the dashboard's stream. */
const MAX_DEAD_LETTERS = 200
/** Shortest window a processed rate is measured over (ms). */
const RATE_WINDOW_MS = 1000

interface Processed {
  count: number
  windowStart: number
  windowCount: number
  rate: number
}

/** MailboxHooks whose functions can be swapped (an absent hook is an undefined one: the runtime checks for that). */
type SwitchableHooks = { -readonly [K in keyof MailboxHooks]-?: MailboxHooks[K] | undefined }

interface FailureHistory {
  restarts: number
  /**
   * The cell and source of the last restart counted: a Supervisor that restarts its child in place
   * reports it twice (the cell's own `restarted`, its `child-restarted`); the partner event is not counted again.
   */
  counted: { cell: object | null; by: 'cell' | 'supervisor' } | null
  lastFailure: StoredFailure | null
}

/**
 * What introspection knows about a system's actors beyond their cells: processed counts and rates
 * (counted only while someone watches), restarts and last failure per path, and recent dead letters.
 *
 * `hooks` goes into the system's `mailboxHooks` in place of `base`. Nobody watching, its `received`
 * *is* base's own function, so the hot path pays nothing; a request arms the counter for
 * WATCH_LEASE_MS (renewed by every request; a live stream renews it on each tick), then it swaps back.
 * Failures and dead letters are rare: they are recorded always, on their own topics.
 */
export class ActorActivity {
  private readonly switchable: SwitchableHooks
  private readonly base: MailboxHooks
  private readonly processed = new WeakMap<object, Processed>()
  private readonly failures = new Map<string, FailureHistory>()
  private readonly letters: StoredLetter[] = []
  private letterSeq = 0
  private clock: Clock | null = null
  private leaseUntil = 0
  private leaseTimer: TimerHandle | null = null
  private armedAt = 0
  private readonly subscriptions: Subscription[] = []
  private readonly counting: NonNullable<MailboxHooks['received']>

  constructor(base: MailboxHooks | undefined = undefined) {
    this.base = base ?? {}
    const baseReceived = this.base.received
    this.switchable = { posted: this.base.posted, received: baseReceived, idle: this.base.idle, discarded: this.base.discarded }
    this.counting =
      baseReceived === undefined
        ? (actor) => this.count(actor)
        : (actor, depth, envelope) => {
            baseReceived(actor, depth, envelope)
            this.count(actor)
          }
  }

  /** For the system's `mailboxHooks`. */
  get hooks(): MailboxHooks {
    return this.switchable as MailboxHooks
  }

  /** Starts recording the system's failures, restarts and dead letters. */
  attach(system: ActorSystem): void {
    this.clock = system.clock
    const clock = system.clock
    this.subscriptions.push(
      system.subscribe(LifecycleTopic, (event) => {
        if (event.event === 'failed' && event.error !== undefined) {
          this.history(event.ref.path).lastFailure = {
            name: event.error.name,
            message: event.error.message,
            ...codeOf(event.error),
            ...(event.method === undefined ? {} : { method: event.method }),
            at: clock.now(),
          }
        } else if (event.event === 'restarted') {
          this.restarted(event.ref.path, event.ref.cell, 'cell')
        }
      }),
      // A Supervisor restarts a child as a new actor under the same path: count it there.
      system.subscribe(SupervisorEventTopic, (event) => {
        if (event.type === 'child-restarted') this.restarted(event.child.path, event.child.cell, 'supervisor')
      }),
      system.subscribe(DeadLetterTopic, (letter) => {
        const envelope: Envelope = letter.envelope
        this.letters.push({
          seq: ++this.letterSeq,
          at: clock.now(),
          shard: system.shard,
          target: envelope.target.path,
          method: envelope.method,
          reason: letter.reason,
          ...(envelope.sender === null ? {} : { sender: envelope.sender.path }),
          ...(letter.error === undefined ? {} : { error: letter.error.message }),
        })
        if (this.letters.length > MAX_DEAD_LETTERS) this.letters.shift()
      }),
    )
  }

  detach(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe()
    this.disarm()
  }

  /** Someone is looking: count processed messages per actor for the next WATCH_LEASE_MS. */
  watch(): void {
    const clock = this.clock
    if (clock === null) return
    this.leaseUntil = clock.now() + WATCH_LEASE_MS
    if (this.leaseTimer !== null) return
    this.switchable.received = this.counting
    this.armedAt = clock.now()
    this.scheduleExpiry(WATCH_LEASE_MS)
  }

  /** Whether processed messages are being counted now. */
  get watching(): boolean {
    return this.leaseTimer !== null
  }

  /** How long counting has been on (ms), 0 when off. */
  countingFor(now: number): number {
    return this.leaseTimer === null ? 0 : now - this.armedAt
  }

  private scheduleExpiry(ms: number): void {
    const clock = this.clock as Clock
    this.leaseTimer = clock.setTimer(ms, () => {
      const left = this.leaseUntil - clock.now()
      if (left > 0) this.scheduleExpiry(left)
      else this.disarm()
    })
  }

  private disarm(): void {
    if (this.leaseTimer !== null) this.clock?.clearTimer(this.leaseTimer)
    this.leaseTimer = null
    this.switchable.received = this.base.received
  }

  private count(actor: ActorInfo): void {
    const entry = this.processed.get(actor)
    if (entry === undefined) this.processed.set(actor, { count: 1, windowStart: this.armedAt, windowCount: 0, rate: 0 })
    else entry.count++
  }

  /** Messages the actor (its cell) handled while counting was on, and its rate (msg/s) over the last window. */
  processedOf(cell: object, now: number): { processed: number; rate: number } {
    const entry = this.processed.get(cell)
    if (entry === undefined) return { processed: 0, rate: 0 }
    const elapsed = now - entry.windowStart
    if (elapsed >= RATE_WINDOW_MS) {
      entry.rate = ((entry.count - entry.windowCount) * 1000) / elapsed
      entry.windowStart = now
      entry.windowCount = entry.count
    }
    return { processed: entry.count, rate: entry.rate }
  }

  failuresOf(path: string, now: number): { restarts: number; lastFailure: FailureRecord | null } {
    const entry = this.failures.get(path)
    if (entry === undefined) return { restarts: 0, lastFailure: null }
    if (entry.lastFailure === null) return { restarts: entry.restarts, lastFailure: null }
    const { at, ...failure } = entry.lastFailure
    return { restarts: entry.restarts, lastFailure: { ...failure, agoMs: Math.max(0, Math.round(now - at)) } }
  }

  /** Dead letters recorded after `afterSeq` (all kept ones for 0), oldest first. */
  deadLetters(afterSeq = 0): DeadLetterRecord[] {
    const now = this.clock?.now() ?? 0
    return this.letters.filter((letter) => letter.seq > afterSeq).map(({ at, ...letter }) => ({ ...letter, agoMs: Math.max(0, Math.round(now - at)) }))
  }

  private restarted(path: string, cell: object | null, by: 'cell' | 'supervisor'): void {
    const entry = this.history(path)
    const partner = entry.counted
    if (partner !== null && partner.cell === cell && partner.by !== by) {
      entry.counted = null
      return
    }
    entry.restarts++
    entry.counted = { cell, by }
  }

  private history(path: string): FailureHistory {
    let entry = this.failures.get(path)
    if (entry === undefined) {
      entry = { restarts: 0, lastFailure: null, counted: null }
      this.failures.set(path, entry)
      if (this.failures.size > MAX_FAILED_PATHS) this.failures.delete(this.failures.keys().next().value as string)
    }
    return entry
  }
}

function codeOf(error: Error): { code?: string } {
  const code: unknown = (error as Error & { code?: unknown }).code
  return typeof code === 'string' ? { code } : {}
}
