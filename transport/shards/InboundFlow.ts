import type { ActorInfo, Envelope, MailboxHooks } from '../../runtime/index.ts'

/** What a paused pump does after a re-check (see `InboundFlow.recheck`). */
export type FlowVerdict =
  /** Something is still congested and live (or stalled on nothing the rings could hold): stay paused. */
  | 'paused'
  /** Nothing is congested any more: read the rings again. */
  | 'resume'
  /** A congested actor has taken nothing for `stallMs` while this shard waits for replies: let one frame through. */
  | 'stalled'

/**
 * Consumer-side flow control of a shard: stop reading a ring while an actor its frames feed has a
 * deep mailbox, and read it again once that actor has caught up (rings feeding other actors are
 * read on). That is what makes a ring fill up
 * when its consumer is slow, so the producer's outbox and, past its bound, ERR_TRANSPORT_FULL push
 * back on the sender — instead of the receiving mailbox overflowing into dead letters.
 *
 * It watches mailboxes through the system's mailbox hooks (installed when the shard's system is
 * created): `posted` while a frame is being delivered marks an actor congested at `highWater`;
 * `received` at `lowWater` and `idle` clear it, and `received` counts the messages a congested
 * actor takes. The cost off the congested path is one flag test per post and one length test per
 * receive.
 *
 * The stall rule (docs/shards.md, "Backpressure"): a congested actor that takes at least one
 * message every `stallMs` is slow but live, and the rings stay closed however slow it is. Only one
 * that has taken nothing for `stallMs` while its shard has asks waiting for a reply (a reply that
 * may sit in the rings behind the backlog, which would otherwise deadlock with the pump) lets one
 * frame through, and then one per further `stallMs`; its mailbox bound still applies.
 */
export class InboundFlow {
  readonly highWater: number
  readonly lowWater: number
  /** How long a congested actor may take nothing before it counts as stalled. */
  readonly stallMs: number
  /** Install these as the system's `mailboxHooks` (they call the user's hooks too). */
  readonly hooks: MailboxHooks
  /** True while the pump hands a frame to the system: only those posts can congest. */
  delivering = false
  /** Set when the frame being delivered posted to a congested actor: the pump pauses its ring. */
  touched = false
  /** Actors over the high-water mark, in the order they crossed it. */
  readonly congested: ActorInfo[] = []
  /** Messages each congested actor took since the last check, parallel to `congested`. */
  private readonly taken: number[] = []
  /** Clock time each congested actor was last seen taking a message (or became congested). */
  private readonly lastProgress: number[] = []
  /** Called when the last congested actor has caught up. */
  onRelieved: (() => void) | null = null
  /** Whether this shard waits for replies from other systems (set once its system exists). */
  awaitingReplies: () => boolean = () => false
  /** Clock time for `posted` (set by the transport that owns the clock). */
  now: () => number = () => 0
  /** Times delivery paused because of a congested actor. */
  pauses = 0

  constructor(highWater: number, inner: MailboxHooks | undefined, stallMs = 100) {
    this.highWater = highWater
    this.lowWater = highWater >> 2
    this.stallMs = stallMs
    const innerPosted = inner?.posted
    // `received` is read at each call, not captured: introspection swaps it in and out (ActorActivity).
    const innerHooks: MailboxHooks = inner ?? {}
    const innerIdle = inner?.idle
    this.hooks = {
      posted: (actor: ActorInfo, depth: number): void => {
        if (innerPosted !== undefined) innerPosted(actor, depth)
        if (this.delivering && depth >= this.highWater) {
          this.touched = true
          if (!this.congested.includes(actor)) {
            this.congested.push(actor)
            this.taken.push(0)
            this.lastProgress.push(this.now())
          }
        }
      },
      received: (actor: ActorInfo, depth: number, envelope: Envelope): void => {
        const innerReceived = innerHooks.received
        if (innerReceived !== undefined) innerReceived(actor, depth, envelope)
        if (this.congested.length === 0) return
        if (depth <= this.lowWater) this.relieve(actor)
        else {
          const index = this.congested.indexOf(actor)
          if (index >= 0) this.taken[index] = (this.taken[index] as number) + 1
        }
      },
      idle: (actor: ActorInfo): void => {
        if (innerIdle !== undefined) innerIdle(actor)
        if (this.congested.length > 0) this.relieve(actor)
      },
    }
  }

  get isCongested(): boolean {
    return this.congested.length > 0
  }

  /**
   * Periodic re-check while paused. Clears actors that caught up without a hook noticing (stopped,
   * drained by a restart); an actor that took messages since the last check is live, however slowly;
   * one that took none for `stallMs` while this shard awaits replies is stalled (see the class doc).
   */
  recheck(now: number): FlowVerdict {
    let stalled = false
    for (let i = this.congested.length - 1; i >= 0; i--) {
      const size = (this.congested[i] as ActorInfo).mailboxSize
      if (size <= this.lowWater) {
        this.remove(i)
      } else if ((this.taken[i] as number) > 0) {
        this.taken[i] = 0
        this.lastProgress[i] = now
      } else if (now - (this.lastProgress[i] as number) >= this.stallMs && this.awaitingReplies()) {
        // One frame now, the next one only after another stallMs without progress.
        this.lastProgress[i] = now
        stalled = true
      }
    }
    if (this.congested.length === 0) return 'resume'
    return stalled ? 'stalled' : 'paused'
  }

  private relieve(actor: ActorInfo): void {
    const index = this.congested.indexOf(actor)
    if (index < 0) return
    this.remove(index)
    if (this.congested.length === 0 && this.onRelieved !== null) this.onRelieved()
  }

  private remove(index: number): void {
    this.congested.splice(index, 1)
    this.taken.splice(index, 1)
    this.lastProgress.splice(index, 1)
  }
}
