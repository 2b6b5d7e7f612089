import type { Clock, TimerHandle } from './Clock.ts'
import type { Envelope } from './Envelope.ts'
import { decodeError, errorCode, OfferTimeoutError } from './errors.ts'
import type { Runnable, Scheduler } from './Scheduler.ts'

/** The code a transport (or Remoting) refuses a send with when the way to its target is full for now. */
const TRANSPORT_FULL = 'ERR_TRANSPORT_FULL'

/** One offer waiting for room toward its target. Settles exactly once: sent, timed out, or failed. */
class WaitingOffer {
  envelope: Envelope | null
  resolve: (() => void) | null
  reject: ((error: Error) => void) | null
  timer: TimerHandle | null = null
  readonly line: OfferLine
  constructor(line: OfferLine, envelope: Envelope, resolve: () => void, reject: (error: Error) => void) {
    this.line = line
    this.envelope = envelope
    this.resolve = resolve
    this.reject = reject
  }
  get settled(): boolean {
    return this.resolve === null
  }
}

/** The FIFO of offers waiting for one target system (node and shard). Settled entries are skipped and compacted. */
class OfferLine {
  readonly node: string
  readonly shard: number
  items: WaitingOffer[] = []
  head = 0
  /** Entries in `items` not yet settled. */
  live = 0
  /** Room was signalled (or the line is new work): the pump should try it. */
  ready = false
  constructor(node: string, shard: number) {
    this.node = node
    this.shard = shard
  }
  first(): WaitingOffer | undefined {
    while (this.head < this.items.length) {
      const item = this.items[this.head] as WaitingOffer
      if (!item.settled) return item
      this.items[this.head++] = undefined as never
    }
    this.items = []
    this.head = 0
    return undefined
  }
  /** Drops settled entries once they are most of the array (timeouts settle entries in the middle). */
  compact(): void {
    const length = this.items.length - this.head
    if (length < 64 || this.live * 2 > length) return
    this.items = this.items.slice(this.head).filter((item) => !item.settled)
    this.head = 0
  }
}

export interface RemoteOffersOptions {
  readonly clock: Clock
  readonly scheduler: Scheduler
  /** Most offers waiting for room, all targets together; past it an offer is refused at the call. */
  readonly maxWaiting: number
  /** How long an offer waits for room before it fails with ERR_OFFER_TIMEOUT. */
  readonly timeoutMs: number
  /**
   * Hands envelopes (one target) to the transport now, as one frame, or throws having sent none:
   * ERR_TRANSPORT_FULL when there is no room yet, another typed error when they cannot go at all.
   * Not the batching route of tells: an offer resolves only once the transport has taken it.
   */
  readonly send: (envelopes: Envelope[]) => void
}

/** Most waiting offers sent in one frame when room comes. */
const GROUP = 64

/**
 * `offer` to an actor in another system (shard or node): the same contract as a local full mailbox,
 * with the transport's room (ring outbox, NATS credit) in place of the mailbox's. An offer goes at
 * once when nothing waits for its target and the transport takes it; otherwise it joins that
 * target's FIFO and goes when the transport signals room (`room`), oldest first, so a later offer
 * never overtakes a waiting one. It fails with a typed error when it waits past its timeout
 * (ERR_OFFER_TIMEOUT), when the target's node or shard goes down, when the system terminates, or at
 * the call when `maxWaiting` offers already wait (ERR_TRANSPORT_FULL). Waking runs as a task on the
 * scheduler, never inside the transport's callback, so a woken send cannot re-enter the transport.
 */
export class RemoteOffers implements Runnable {
  private readonly o: RemoteOffersOptions
  /** node -> shard -> line. */
  private readonly lines = new Map<string, OfferLine[]>()
  private waitingCount = 0
  private scheduled = false
  private readonly pumpQueue: OfferLine[] = []

  constructor(options: RemoteOffersOptions) {
    this.o = options
  }

  /** Offers waiting for room right now. */
  get waiting(): number {
    return this.waitingCount
  }

  offer(envelope: Envelope): Promise<void> {
    const { node, shard } = envelope.target.address
    const line = this.lineFor(node, shard)
    if (line.live === 0) {
      try {
        this.o.send([envelope])
        return Promise.resolve()
      } catch (error) {
        if (errorCode(error) !== TRANSPORT_FULL) return Promise.reject(error)
      }
    }
    if (this.waitingCount >= this.o.maxWaiting) {
      // Built from the code so the runtime needs no import of the transport layer's class (it registered it).
      return Promise.reject(
        decodeError({
          code: TRANSPORT_FULL,
          name: 'TransportFullError',
          message: `${this.waitingCount} offers already wait for room toward other systems (bound ${this.o.maxWaiting}); ${node}:${shard} is full`,
          data: { node, shard, waitingOffers: this.waitingCount, limit: this.o.maxWaiting },
        }),
      )
    }
    return new Promise<void>((resolve, reject) => {
      const waiting = new WaitingOffer(line, envelope, resolve, reject)
      waiting.timer = this.o.clock.setTimer(this.o.timeoutMs, () => this.expire(waiting))
      line.items.push(waiting)
      line.live++
      this.waitingCount++
    })
  }

  /** The transport has room toward `node` (`shard`; null: any shard, or any node): waiting offers there are tried. */
  room(node: string | null, shard: number | null): void {
    if (this.waitingCount === 0) return
    for (const [name, byShard] of this.lines) {
      if (node !== null && name !== node) continue
      for (const line of byShard) if (line !== undefined && line.live > 0 && (shard === null || line.shard === shard)) this.markReady(line)
    }
  }

  /** Fails the offers waiting for `node` (one `shard`, or all; every node when null): their target is gone. */
  fail(node: string | null, shard: number | null, error: Error | ((node: string, shard: number) => Error)): void {
    if (this.waitingCount === 0) return
    for (const [name, byShard] of this.lines) {
      if (node !== null && name !== node) continue
      for (const line of byShard) {
        if (line === undefined || line.live === 0 || (shard !== null && line.shard !== shard)) continue
        const cause = typeof error === 'function' ? error(line.node, line.shard) : error
        let waiting: WaitingOffer | undefined
        while ((waiting = line.first()) !== undefined) this.settle(waiting, cause)
      }
    }
  }

  /**
   * Tries the lines that were signalled, oldest offers first, up to GROUP per frame; stops a line at
   * the first refusal for room. A group refused for another reason is retried one by one, so each
   * offer gets its own verdict (one payload that cannot travel fails alone).
   */
  run(budget: number): boolean {
    let sent = 0
    const group: WaitingOffer[] = []
    const envelopes: Envelope[] = []
    while (this.pumpQueue.length > 0 && sent < budget) {
      const line = this.pumpQueue[0] as OfferLine
      let blocked = false
      let size = GROUP
      while (sent < budget && line.first() !== undefined) {
        group.length = 0
        envelopes.length = 0
        for (let i = line.head; i < line.items.length && group.length < size; i++) {
          const item = line.items[i] as WaitingOffer
          if (item.settled) continue
          group.push(item)
          envelopes.push(item.envelope as Envelope)
        }
        try {
          this.o.send(envelopes)
        } catch (error) {
          if (errorCode(error) === TRANSPORT_FULL) {
            blocked = true
            break
          }
          if (group.length > 1) {
            size = 1
            continue
          }
          // Not a matter of room (link down, closed, a payload that cannot travel): this offer fails, the next may go.
          this.settle(group[0] as WaitingOffer, error as Error)
          continue
        }
        sent += group.length
        for (const item of group) this.settle(item, null)
      }
      if (blocked || line.live === 0) {
        line.ready = false
        this.pumpQueue.shift()
      }
    }
    group.length = 0
    envelopes.length = 0
    if (this.pumpQueue.length > 0) return true
    this.scheduled = false
    return false
  }

  private markReady(line: OfferLine): void {
    if (line.ready) return
    line.ready = true
    this.pumpQueue.push(line)
    if (!this.scheduled) {
      this.scheduled = true
      this.o.scheduler.schedule(this)
    }
  }

  private expire(waiting: WaitingOffer): void {
    waiting.timer = null
    if (waiting.settled) return
    const envelope = waiting.envelope as Envelope
    const { node, shard } = waiting.line
    this.settle(
      waiting,
      new OfferTimeoutError(`no room toward ${node}:${shard} for '${envelope.method}' to ${envelope.target.path} within ${this.o.timeoutMs} ms`, {
        data: { node, shard, method: envelope.method, timeoutMs: this.o.timeoutMs },
      }),
    )
    waiting.line.compact()
  }

  private settle(waiting: WaitingOffer, error: Error | null): void {
    const resolve = waiting.resolve
    const reject = waiting.reject
    if (resolve === null || reject === null) return
    waiting.resolve = null
    waiting.reject = null
    waiting.envelope = null
    if (waiting.timer !== null) this.o.clock.clearTimer(waiting.timer)
    waiting.timer = null
    waiting.line.live--
    this.waitingCount--
    if (error === null) resolve()
    else reject(error)
  }

  private lineFor(node: string, shard: number): OfferLine {
    let byShard = this.lines.get(node)
    if (byShard === undefined) {
      byShard = []
      this.lines.set(node, byShard)
    }
    let line = byShard[shard]
    if (line === undefined) {
      line = new OfferLine(node, shard)
      byShard[shard] = line
    }
    return line
  }
}
