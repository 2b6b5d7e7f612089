import { EnvelopeKind, type ActorSystem, type Clock, type Envelope, type TimerHandle } from '../runtime/index.ts'

/** What the gate reads of a target: a local cell's mailbox depth. */
interface Mailboxed {
  readonly mailboxSize: number
}

/**
 * Consumer-side flow control for frames that come with credit (NATS): Remoting delivers a frame's
 * envelopes into mailboxes at once unless a mailbox that inbound frames feed is congested (at
 * `highWater`); from then on it holds the user envelopes of each new frame, in order, and the
 * transport grants their senders no new credit until the frame is released. Replies bypass the
 * hold (they settle an ask and fill no mailbox): an actor awaiting a reply behind its own backlog
 * cannot deadlock, and no gate ever opens for a stalled actor. Once every congested mailbox is back
 * to a quarter of `highWater` (checked every `checkMs` on the system clock), held frames are
 * delivered in order and released one by one, until a mailbox is congested again.
 *
 * A mailbox gets at most `highWater` plus one frame (`maxBatch`) from a credited transport before
 * the hold bites; held envelopes are bounded by the senders' credit (the receive window per sender).
 */
export class InboundGate {
  readonly highWater: number
  readonly lowWater: number
  /** Times the gate started holding; envelopes held right now. */
  readonly stats = { holds: 0, heldEnvelopes: 0 }
  private readonly system: ActorSystem
  private readonly clock: Clock
  private readonly checkMs: number
  private readonly release: () => void
  private held: Envelope[][] = []
  private head = 0
  private readonly congested: Mailboxed[] = []
  private timer: TimerHandle | null = null
  private readonly checkBound = (): void => this.check()

  constructor(system: ActorSystem, highWater: number, checkMs: number, release: () => void) {
    this.system = system
    this.clock = system.clock
    this.highWater = highWater
    this.lowWater = highWater >> 2
    this.checkMs = checkMs
    this.release = release
  }

  /** Delivers a credited frame's envelopes, or holds them (returns true: `release` follows later). */
  take(envelopes: Envelope[]): boolean {
    if (this.head === this.held.length && this.congested.length === 0) {
      this.deliver(envelopes)
      return false
    }
    let kept: Envelope[] | null = null
    for (const envelope of envelopes) {
      if (envelope.kind === EnvelopeKind.ReplyOk || envelope.kind === EnvelopeKind.ReplyError) this.system.deliverInbound(envelope)
      else (kept ??= []).push(envelope)
    }
    if (kept === null) return false
    this.held.push(kept)
    this.stats.heldEnvelopes += kept.length
    return true
  }

  private deliver(envelopes: Envelope[]): void {
    const system = this.system
    let last: Mailboxed | null = null
    let fed: Mailboxed[] | null = null
    for (const envelope of envelopes) {
      system.deliverInbound(envelope)
      const kind = envelope.kind
      if (kind !== EnvelopeKind.Tell && kind !== EnvelopeKind.Ask && kind !== EnvelopeKind.Poison) continue
      // After delivery the target is the local ref, which is its cell when the actor lives here.
      const cell = envelope.target.cell as Mailboxed | null
      if (cell === null || cell === last) continue
      last = cell
      ;(fed ??= []).push(cell)
    }
    if (fed === null) return
    for (const cell of fed) {
      if (cell.mailboxSize < this.highWater || this.congested.includes(cell)) continue
      if (this.congested.length === 0) this.stats.holds++
      this.congested.push(cell)
    }
    if (this.congested.length > 0 && this.timer === null) this.timer = this.clock.setTimer(this.checkMs, this.checkBound)
  }

  private check(): void {
    this.timer = null
    for (let i = this.congested.length - 1; i >= 0; i--) {
      if ((this.congested[i] as Mailboxed).mailboxSize <= this.lowWater) this.congested.splice(i, 1)
    }
    while (this.congested.length === 0 && this.head < this.held.length) {
      const batch = this.held[this.head] as Envelope[]
      this.held[this.head++] = undefined as never
      this.stats.heldEnvelopes -= batch.length
      this.deliver(batch)
      this.release()
    }
    if (this.head === this.held.length) {
      this.held = []
      this.head = 0
    }
    if (this.congested.length > 0 && this.timer === null) this.timer = this.clock.setTimer(this.checkMs, this.checkBound)
  }
}
