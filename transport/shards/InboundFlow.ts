import type { ActorInfo, Envelope, MailboxHooks } from '../../runtime/index.ts'

/**
 * Consumer-side flow control of a shard: stop reading the rings while an actor that inbound frames
 * feed has a deep mailbox, and read again once it has caught up. That is what makes a ring fill up
 * when its consumer is slow, so the producer's outbox and, past its bound, ERR_TRANSPORT_FULL push
 * back on the sender — instead of the receiving mailbox overflowing into dead letters.
 *
 * It watches mailboxes through the system's mailbox hooks (installed when the shard's system is
 * created): `posted` while a frame is being delivered marks an actor congested at `highWater`;
 * `received` at `lowWater` and `idle` clear it. The cost off the congested path is one flag test per
 * post and one length test per receive.
 */
export class InboundFlow {
  readonly highWater: number
  readonly lowWater: number
  /** Install these as the system's `mailboxHooks` (they call the user's hooks too). */
  readonly hooks: MailboxHooks
  /** True while the pump hands a frame to the system: only those posts can congest. */
  delivering = false
  /** Actors over the high-water mark, in the order they crossed it. */
  readonly congested: ActorInfo[] = []
  /** Mailbox sizes at the last stall check, parallel to `congested`. */
  private readonly lastSizes: number[] = []
  /** Called when the last congested actor has caught up. */
  onRelieved: (() => void) | null = null
  /** Times delivery paused because of a congested actor. */
  pauses = 0

  constructor(highWater: number, inner: MailboxHooks | undefined) {
    this.highWater = highWater
    this.lowWater = highWater >> 2
    const innerPosted = inner?.posted
    const innerReceived = inner?.received
    const innerIdle = inner?.idle
    this.hooks = {
      posted: (actor: ActorInfo, depth: number): void => {
        if (innerPosted !== undefined) innerPosted(actor, depth)
        if (this.delivering && depth >= this.highWater && !this.congested.includes(actor)) {
          this.congested.push(actor)
          this.lastSizes.push(depth)
        }
      },
      received: (actor: ActorInfo, depth: number, envelope: Envelope): void => {
        if (innerReceived !== undefined) innerReceived(actor, depth, envelope)
        if (this.congested.length > 0 && depth <= this.lowWater) this.relieve(actor)
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
   * drained by a restart) and actors that made no progress since the last check: an actor awaiting
   * a reply that sits in the ring behind its own backlog would otherwise deadlock with the pump, so
   * a stalled actor lets one more frame through per check (its mailbox bound still applies).
   * Returns whether anything is still congested.
   */
  recheck(): boolean {
    for (let i = this.congested.length - 1; i >= 0; i--) {
      const size = (this.congested[i] as ActorInfo).mailboxSize
      if (size <= this.lowWater || size >= (this.lastSizes[i] as number)) {
        this.congested.splice(i, 1)
        this.lastSizes.splice(i, 1)
      } else {
        this.lastSizes[i] = size
      }
    }
    return this.congested.length > 0
  }

  private relieve(actor: ActorInfo): void {
    const index = this.congested.indexOf(actor)
    if (index < 0) return
    this.congested.splice(index, 1)
    this.lastSizes.splice(index, 1)
    if (this.congested.length === 0 && this.onRelieved !== null) this.onRelieved()
  }
}
