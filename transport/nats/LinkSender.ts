import { MessageTooLargeError, type Clock } from '../../runtime/index.ts'
import type { SystemAddress } from '../FrameTransport.ts'
import { ACK_GAP, ACK_RESET, dataFrame, dataPrefix, type Ack } from './LinkFrames.ts'
import type { NatsTransportStats } from './NatsTransportOptions.ts'
import { OutFrame, OutStream, resendUnacked, startNewEpoch } from './OutStream.ts'

/** A gap reported by the receiver triggers a resend at most this often per stream. */
const GAP_RESEND_MS = 100

export interface LinkSenderOptions {
  readonly node: string
  readonly shard: number
  readonly session: number
  readonly clock: Clock
  readonly stats: NatsTransportStats
  /** Frames (and their bytes) retained, all peers together: published and unacknowledged, or waiting. */
  readonly maxFrames: number
  readonly maxBytes: number
  /** Bytes waiting (not yet published) for one peer shard before `isFull` says so. */
  readonly maxQueuedBytesPerPeer: number
  /** No ack progress for this long (link and peer up): the unacknowledged frames go again. */
  readonly ackTimeoutMs: number
  /** Publishes wire bytes on `subject`; throws when the link fails (or the frame is too large). */
  publish(subject: string, bytes: Uint8Array): void
  /** Whether frames may be published to `node` now (link up, peer reachable). */
  canSend(node: string): boolean
  /** The error a send refused for lack of room throws (link down: ERR_NATS_DOWN; slow peer: ERR_TRANSPORT_FULL). */
  refusal(to: SystemAddress, detail: string): Error
  /** Frames given back, never to be sent: Remoting makes dead letters and failed asks of them. */
  undelivered(to: SystemAddress, frame: Uint8Array, error: Error): void
  /** A peer shard that was reported full (`isFull`, a refusal) has room again (null: any peer, the shared bounds freed). */
  room?(to: SystemAddress | null): void
}

/**
 * The sending half of the link of one shard. Every frame is retained until the receiving shard
 * acknowledges it (cumulative sequence numbers per destination); published only within the credit
 * the receiver granted; published again on reconnect, on a reported gap, or when acks stop coming.
 * Past the retention bounds a send is refused at the call. Frames that can never go (peer down,
 * outage past its bound, closed) are given back through `undelivered`.
 */
export class LinkSender {
  private readonly o: LinkSenderOptions
  private readonly streams = new Map<string, OutStream[]>()
  private retainedFrames = 0
  private retainedBytes = 0
  /** Streams reported full, waiting to be told of room; and whether the shared bounds refused someone. */
  private readonly wanted: OutStream[] = []
  private wantedShared = false

  constructor(options: LinkSenderOptions) {
    this.o = options
  }

  /** Retains `body` for `to` and publishes it when the link, the peer and the credit allow. */
  send(to: SystemAddress, subject: string, body: Uint8Array, mustTake: boolean): void {
    const stream = this.stream(to, subject)
    const scale = mustTake ? 2 : 1
    if (this.retainedFrames + 1 > scale * this.o.maxFrames || this.retainedBytes + body.byteLength > scale * this.o.maxBytes) {
      stream.refusing = true
      this.want(stream)
      throw this.o.refusal(to, `${this.retainedFrames} frames (${this.retainedBytes} bytes) are retained for peers`)
    }
    if (!mustTake && stream.waitingBytes >= this.o.maxQueuedBytesPerPeer) {
      stream.refusing = true
      this.want(stream)
      throw this.o.refusal(to, `${stream.waitingBytes} bytes already wait for ${to.node}:${to.shard}`)
    }
    const frame = new OutFrame(body)
    stream.frames.push(frame)
    stream.waitingBytes += body.byteLength
    this.retainedFrames++
    this.retainedBytes += body.byteLength
    this.o.stats.framesBuffered++
    this.o.stats.bytesBuffered += body.byteLength
    if (!this.o.canSend(to.node)) return
    if (stream.length === stream.published + 1 && stream.sentBytes < stream.credit) {
      // The usual case, nothing waits before it: publish now, and let a too-large frame throw to Remoting (it splits the batch).
      try {
        this.publishNext(stream)
      } catch (error) {
        if (!(error instanceof MessageTooLargeError)) return
        this.dropLast(stream)
        throw error
      }
      return
    }
    if (stream.sentBytes >= stream.credit) this.o.stats.creditStalls++
    this.pump(stream)
  }

  /** Whether a send to `to` would be refused now (with hysteresis: until half the room is free again). */
  isFull(to: SystemAddress): boolean {
    const stream = this.streams.get(to.node)?.[to.shard]
    if (this.sharedFull()) {
      if (stream === undefined) this.wantedShared = true
      else this.want(stream)
      return true
    }
    if (stream === undefined || !this.streamFull(stream)) return false
    this.want(stream)
    return true
  }

  private sharedFull(): boolean {
    return this.retainedFrames >= this.o.maxFrames || this.retainedBytes >= this.o.maxBytes
  }

  /** Full at its own bound; after a refusal, until half its room is free again (hysteresis). */
  private streamFull(stream: OutStream): boolean {
    if (stream.waitingBytes >= this.o.maxQueuedBytesPerPeer) return (stream.refusing = true)
    if (stream.refusing && stream.waitingBytes > this.o.maxQueuedBytesPerPeer / 2) return true
    stream.refusing = false
    return false
  }

  private want(stream: OutStream): void {
    if (stream.wanted) return
    stream.wanted = true
    this.wanted.push(stream)
  }

  /** Tells the room handler about every peer reported full that has room now (after acks, credit, or frames given back). */
  private signalRoom(): void {
    if (this.wanted.length === 0 && !this.wantedShared) return
    if (this.sharedFull()) return
    const room = this.o.room
    if (this.wantedShared) {
      this.wantedShared = false
      room?.(null)
    }
    for (let i = 0; i < this.wanted.length; ) {
      const stream = this.wanted[i] as OutStream
      if (this.streamFull(stream)) {
        i++
        continue
      }
      stream.wanted = false
      this.wanted[i] = this.wanted[this.wanted.length - 1] as OutStream
      this.wanted.pop()
      room?.(stream.to)
    }
  }

  /** Frames published and not yet acknowledged, or waiting, for every peer. */
  get retained(): number {
    return this.retainedFrames
  }

  onAck(ack: Ack): void {
    if (ack.senderSession !== this.o.session) return
    const stream = this.streams.get(ack.node)?.[ack.shard]
    if (stream === undefined || ack.epoch !== stream.epoch) return
    this.o.stats.acksIn++
    const now = this.o.clock.now()
    if ((ack.flags & ACK_RESET) !== 0) {
      const first = stream.published > 0 ? (stream.frames[stream.head] as OutFrame).seq : 0
      if (first === 1) {
        // It never saw the stream begin (the first frames were lost): send them again.
        if (now - stream.lastResendAt >= GAP_RESEND_MS && this.o.canSend(stream.to.node)) resendUnacked(this.o, stream)
        return
      }
      // It restarted since: what it had not acknowledged starts a new epoch from sequence 1
      // (those frames name actors of its previous run; it answers them as unknown actors).
      startNewEpoch(this.o, stream)
      this.pump(stream)
      return
    }
    let head = stream.head
    while (stream.published > 0 && (stream.frames[head] as OutFrame).seq <= ack.delivered) {
      const frame = stream.frames[head] as OutFrame
      stream.frames[head++] = undefined as never
      stream.published--
      stream.publishedBytes -= frame.body.byteLength
      this.retainedFrames--
      this.retainedBytes -= frame.body.byteLength
      this.o.stats.framesUnacked--
      this.o.stats.bytesUnacked -= frame.body.byteLength
      stream.lastProgressAt = now
    }
    stream.head = head
    stream.compact()
    stream.credit = ack.credit
    if ((ack.flags & ACK_GAP) !== 0 && stream.published > 0 && now - stream.lastResendAt >= GAP_RESEND_MS && this.o.canSend(stream.to.node)) resendUnacked(this.o, stream)
    this.pump(stream)
    this.signalRoom()
  }

  /** After a reconnect (or once `node` is heard again): unacknowledged frames go again, then waiting ones. */
  resume(node: string | null): void {
    for (const [name, byShard] of this.streams) {
      if (node !== null && name !== node) continue
      if (!this.o.canSend(name)) continue
      for (const stream of byShard) {
        if (stream === undefined) continue
        if (stream.published > 0) resendUnacked(this.o, stream)
        this.pump(stream)
      }
    }
  }

  /** Ack timeout: streams whose acks stopped coming (link and peer up) resend what is unacknowledged. */
  tick(): void {
    const now = this.o.clock.now()
    for (const [name, byShard] of this.streams) {
      if (!this.o.canSend(name)) continue
      for (const stream of byShard) {
        if (stream === undefined || stream.published === 0) continue
        if (now - stream.lastProgressAt >= this.o.ackTimeoutMs) resendUnacked(this.o, stream)
      }
    }
  }

  /**
   * Gives back every frame retained for `node` (or one shard of it): the peer is gone, so nothing
   * retained for it will be acknowledged. With `waitingOnly`, only frames never published.
   */
  fail(node: string | null, shard: number | null, error: Error | ((to: SystemAddress) => Error), waitingOnly = false): void {
    const given: [SystemAddress, Uint8Array][] = []
    for (const [name, byShard] of this.streams) {
      if (node !== null && name !== node) continue
      for (const stream of byShard) {
        if (stream === undefined || (shard !== null && stream.to.shard !== shard)) continue
        const from = waitingOnly ? stream.head + stream.published : stream.head
        for (let i = from; i < stream.frames.length; i++) given.push([stream.to, (stream.frames[i] as OutFrame).body])
        this.clear(stream, waitingOnly)
      }
    }
    this.o.stats.framesAbandoned += given.length
    // After the bookkeeping: Remoting may send again from these callbacks (a failure reply).
    for (const [to, body] of given) this.o.undelivered(to, body, typeof error === 'function' ? error(to) : error)
    this.signalRoom()
  }

  private stream(to: SystemAddress, subject: string): OutStream {
    let byShard = this.streams.get(to.node)
    if (byShard === undefined) {
      byShard = []
      this.streams.set(to.node, byShard)
    }
    let stream = byShard[to.shard]
    if (stream === undefined) {
      stream = new OutStream({ system: to.system, node: to.node, shard: to.shard }, subject, dataPrefix(this.o.node, this.o.shard, this.o.session, 1))
      byShard[to.shard] = stream
    }
    return stream
  }

  /** Publishes waiting frames while the link, the peer and the credit allow. */
  private pump(stream: OutStream): void {
    if (!this.o.canSend(stream.to.node)) return
    while (stream.published < stream.length && stream.sentBytes < stream.credit) {
      try {
        this.publishNext(stream)
      } catch (error) {
        if (!(error instanceof MessageTooLargeError)) return
        // Cannot ever go: give it back (it is the first waiting frame) and carry on.
        const index = stream.head + stream.published
        const frame = stream.frames[index] as OutFrame
        stream.frames.splice(index, 1)
        this.forgetWaiting(stream, frame)
        this.o.stats.framesAbandoned++
        this.o.undelivered(stream.to, frame.body, error)
      }
    }
  }

  /** Publishes the first waiting frame (throws, leaving it waiting, when the publish fails). */
  private publishNext(stream: OutStream): void {
    const frame = stream.frames[stream.head + stream.published] as OutFrame
    const seq = stream.nextSeq
    this.o.publish(stream.subject, dataFrame(stream.prefix, seq, frame.body))
    frame.seq = seq
    stream.nextSeq++
    if (stream.published === 0) stream.lastProgressAt = this.o.clock.now()
    stream.published++
    const bytes = frame.body.byteLength
    stream.publishedBytes += bytes
    stream.waitingBytes -= bytes
    stream.sentBytes += bytes
    const stats = this.o.stats
    stats.framesBuffered--
    stats.bytesBuffered -= bytes
    stats.framesUnacked++
    stats.bytesUnacked += bytes
  }

  private clear(stream: OutStream, waitingOnly: boolean): void {
    const stats = this.o.stats
    const from = waitingOnly ? stream.head + stream.published : stream.head
    const count = stream.frames.length - from
    const bytes = stream.waitingBytes + (waitingOnly ? 0 : stream.publishedBytes)
    this.retainedFrames -= count
    this.retainedBytes -= bytes
    stats.framesBuffered -= stream.length - stream.published
    stats.bytesBuffered -= stream.waitingBytes
    stream.waitingBytes = 0
    stream.frames.length = from
    stream.refusing = false
    if (waitingOnly) return
    stats.framesUnacked -= stream.published
    stats.bytesUnacked -= stream.publishedBytes
    stream.published = 0
    stream.publishedBytes = 0
    stream.frames = []
    stream.head = 0
    // Whatever comes next for that peer (its next run) starts a fresh stream.
    startNewEpoch(this.o, stream)
  }

  private dropLast(stream: OutStream): void {
    const frame = stream.frames.pop() as OutFrame
    this.forgetWaiting(stream, frame)
  }

  private forgetWaiting(stream: OutStream, frame: OutFrame): void {
    const bytes = frame.body.byteLength
    stream.waitingBytes -= bytes
    this.retainedFrames--
    this.retainedBytes -= bytes
    this.o.stats.framesBuffered--
    this.o.stats.bytesBuffered -= bytes
  }
}
