import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { ACK_GAP, ACK_RESET, ackBytes, nodeBytes, type DataHeader } from './LinkFrames.ts'
import type { NatsTransportStats } from './NatsTransportOptions.ts'

/** Credit a sender may use before its first ack (bytes of codec frames): the protocol's opening window. */
export const INITIAL_CREDIT_BYTES = 1024 * 1024
/** Reset acks for one unknown stream go out at most this often (a stream of stale frames must not flood). */
const RESET_INTERVAL_MS = 50
/** Sending nodes a receiver tracks at most (streams and reset rate-limit entries) unless told otherwise. */
export const DEFAULT_MAX_SENDERS = 4096

export interface LinkReceiverOptions {
  readonly node: string
  readonly shard: number
  readonly session: number
  /** Bytes of frames a sender may have on the way or waiting here beyond what was released. */
  readonly windowBytes: number
  /** Longest an ack waits to be batched with others. */
  readonly ackDelayMs: number
  readonly clock: Clock
  readonly stats: NatsTransportStats
  /**
   * Most sending nodes tracked (and most streams owed a reset at once). Anyone who can publish on
   * this shard's subject can invent node names: past the bound, the least recently acknowledged
   * node with nothing owed is forgotten to make room (it gets a reset and recovers); when none can
   * be, a new sender's frame is dropped and counted (`sendersRefused`). Default 4096.
   */
  readonly maxSenders?: number
  /** Publishes an ack on the ack subject of the sending shard. */
  publishAck(node: string, shard: number, bytes: Uint8Array): void
}

/** What this receiver knows of one sender's stream: where it is, and what it may send. */
export class InStream {
  readonly node: string
  readonly shard: number
  session: number
  epoch: number
  /** Every frame 1..delivered arrived (in order) and went to Remoting. */
  delivered = 0
  /** Bytes of codec frames Remoting has taken into mailboxes. */
  releasedBytes = 0
  /** The credit last granted (absolute: bytes of the stream the sender may send). */
  granted: number
  owed = false
  flags = 0
  constructor(node: string, shard: number, session: number, epoch: number, window: number) {
    this.node = node
    this.shard = shard
    this.session = session
    this.epoch = epoch
    this.granted = window
  }
}

/**
 * The receiving half of the link of one shard: per sending shard, accepts frames strictly in
 * sequence (duplicates and frames after a gap are dropped), and acknowledges them cumulatively,
 * batched (at most `ackDelayMs` late, sooner when the sender would run short of credit). Credit is
 * what Remoting released into mailboxes plus the window: a frame Remoting holds because a mailbox
 * is congested grants nothing until it is released.
 */
export class LinkReceiver {
  private readonly options: LinkReceiverOptions
  private readonly nodeName: Uint8Array
  /** Sending node -> shard -> stream (no key string per frame). */
  private readonly streams = new Map<string, InStream[]>()
  private owed: InStream[] = []
  private timer: TimerHandle | null = null
  private readonly flushBound = (): void => this.flush()
  /** Frames Remoting holds, oldest first: released in this order. */
  private readonly held: { stream: InStream; bytes: number }[] = []
  private heldHead = 0
  /** When a reset ack last went to a (node, shard) stream this receiver does not know: rate limit, bounded. */
  private readonly lastReset = new Map<string, number>()
  /** When `lastReset` was last swept of expired entries, and when a reset last went out past its bound. */
  private resetSweptAt = -Infinity
  private overflowResetAt = -Infinity
  private readonly maxSenders: number

  constructor(options: LinkReceiverOptions) {
    this.options = options
    this.nodeName = nodeBytes(options.node)
    this.maxSenders = options.maxSenders ?? DEFAULT_MAX_SENDERS
  }

  /** Sending nodes with streams tracked here (at most `maxSenders`). */
  get trackedSenders(): number {
    return this.streams.size
  }

  /** Streams remembered for rate-limiting reset acks (at most `maxSenders`). */
  get trackedResets(): number {
    return this.lastReset.size
  }

  /**
   * Forgets everything about `node`'s streams: the transport declared it down, left or restarted
   * (a new incarnation), or this node was quarantined. Frames of its old run arriving later get a
   * reset, like any stream this receiver never saw begin.
   */
  forget(node: string): void {
    this.streams.delete(node)
  }

  /** Forgets every sender (this node was quarantined: every peer is out of reach). */
  forgetAll(): void {
    this.streams.clear()
    this.lastReset.clear()
  }

  /** The stream to deliver this frame for when it is the next in order; null to drop it. */
  accept(header: DataHeader): InStream | null {
    let byShard = this.streams.get(header.node)
    let stream = byShard === undefined ? undefined : byShard[header.shard]
    if (stream !== undefined && stream.session === header.session && stream.epoch === header.epoch) {
      const seq = header.seq
      if (seq === stream.delivered + 1) {
        stream.delivered = seq
        this.owe(stream, 0)
        return stream
      }
      if (seq <= stream.delivered) this.options.stats.duplicatesDropped++
      else this.options.stats.gapsDropped++
      this.owe(stream, seq <= stream.delivered ? 0 : ACK_GAP)
      return null
    }
    // Same sender run, older epoch: a late resend of a stream it already restarted.
    if (stream !== undefined && stream.session === header.session && header.epoch < stream.epoch) return null
    if (header.seq === 1) {
      // The entry is made only for a stream that begins here: frames that are dropped leave nothing.
      if (byShard === undefined) {
        if (this.streams.size >= this.maxSenders && !this.evictOne()) {
          this.options.stats.sendersRefused++
          return null
        }
        byShard = []
        this.streams.set(header.node, byShard)
      }
      stream = new InStream(header.node, header.shard, header.session, header.epoch, this.options.windowBytes)
      stream.delivered = 1
      byShard[header.shard] = stream
      this.owe(stream, 0)
      return stream
    }
    // The middle of a stream this receiver never saw begin: it restarted since (or the stream's
    // first frames are still to be resent). Tell the sender; it resends or starts a new epoch.
    this.options.stats.gapsDropped++
    const key = `${header.node}\u0000${header.shard}`
    const now = this.options.clock.now()
    const last = this.lastReset.get(key)
    if (last !== undefined && now - last < RESET_INTERVAL_MS) return null
    if (last === undefined && this.lastReset.size >= this.maxSenders) {
      // Expired entries mean nothing: sweep them, at most once per interval (the sweep is O(bound)).
      if (now - this.resetSweptAt >= RESET_INTERVAL_MS) {
        this.resetSweptAt = now
        for (const [entry, at] of this.lastReset) if (now - at >= RESET_INTERVAL_MS) this.lastReset.delete(entry)
      }
      if (this.lastReset.size >= this.maxSenders) {
        // Still full: resets to streams past the bound share one rate limit.
        if (now - this.overflowResetAt < RESET_INTERVAL_MS) return null
        this.overflowResetAt = now
        this.send(header.node, header.shard, header.session, header.epoch, 0, INITIAL_CREDIT_BYTES, ACK_RESET)
        return null
      }
    }
    this.lastReset.set(key, now)
    this.send(header.node, header.shard, header.session, header.epoch, 0, INITIAL_CREDIT_BYTES, ACK_RESET)
    return null
  }

  /**
   * Makes room for a new sender: forgets the least recently acknowledged node (the map's first; a
   * node moves to the end each time one of its streams is acknowledged) unless it is owed an ack
   * right now (it is in the current ack batch: the table is full of fresh streams).
   */
  private evictOne(): boolean {
    for (const [node, byShard] of this.streams) {
      for (const stream of byShard) if (stream !== undefined && stream.owed) return false
      this.streams.delete(node)
      return true
    }
    return false
  }

  /** Remoting took the frame (`bytes` of codec frame) into mailboxes now (`held` false), or holds it until `released()`. */
  consumed(stream: InStream, bytes: number, held: boolean): void {
    if (held) this.held.push({ stream, bytes })
    else this.release(stream, bytes)
  }

  /** Remoting released the oldest frame it held. */
  released(): void {
    const entry = this.held[this.heldHead]
    if (entry === undefined) return
    this.held[this.heldHead++] = undefined as never
    if (this.heldHead > 1024 && this.heldHead * 2 > this.held.length) {
      this.held.splice(0, this.heldHead)
      this.heldHead = 0
    }
    this.release(entry.stream, entry.bytes)
  }

  /** Frames held by Remoting right now (credit they have not given back). */
  get heldFrames(): number {
    return this.held.length - this.heldHead
  }

  /** Sends every ack owed now. */
  flush(): void {
    if (this.timer !== null) {
      this.options.clock.clearTimer(this.timer)
      this.timer = null
    }
    const owed = this.owed
    this.owed = []
    // A stream acked early (credit) since it was listed owes nothing more.
    for (const stream of owed) if (stream.owed) this.ackNow(stream)
  }

  close(): void {
    if (this.timer !== null) this.options.clock.clearTimer(this.timer)
    this.timer = null
    this.owed = []
  }

  private release(stream: InStream, bytes: number): void {
    stream.releasedBytes += bytes
    this.owe(stream, 0)
    // Credit would run short before the ack timer: grant now.
    if (stream.releasedBytes + this.options.windowBytes - stream.granted >= this.options.windowBytes / 2) this.ackNow(stream)
  }

  private owe(stream: InStream, flags: number): void {
    stream.flags |= flags
    if (stream.owed) return
    stream.owed = true
    this.owed.push(stream)
    if (this.timer === null) this.timer = this.options.clock.setTimer(this.options.ackDelayMs, this.flushBound)
  }

  private ackNow(stream: InStream): void {
    stream.owed = false
    const flags = stream.flags
    stream.flags = 0
    // The latest grant is the sender's credit (acks of one receiver arrive in order); below the
    // opening credit, a sender that used more than this waits until releases catch up.
    stream.granted = stream.releasedBytes + this.options.windowBytes
    // Recently acknowledged nodes go last: eviction takes the first (still tracked ones only).
    const byShard = this.streams.get(stream.node)
    if (byShard !== undefined && byShard[stream.shard] === stream) {
      this.streams.delete(stream.node)
      this.streams.set(stream.node, byShard)
    }
    this.send(stream.node, stream.shard, stream.session, stream.epoch, stream.delivered, stream.granted, flags)
  }

  private send(node: string, shard: number, session: number, epoch: number, delivered: number, credit: number, flags: number): void {
    const { shard: own, session: ownSession } = this.options
    this.options.publishAck(node, shard, ackBytes(this.nodeName, own, ownSession, session, epoch, delivered, credit, flags))
  }
}
