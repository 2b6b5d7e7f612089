import {
  Envelope,
  EnvelopeKind,
  ExitReasons,
  malformedReason,
  MessageTooLargeError,
  NodeDownError,
  NotSerializableError,
  RateLimitedLog,
  ShardDownError,
  toError,
  type ActorAddress,
  type ActorSystem,
  type RemoteRouter,
} from '../runtime/index.ts'
import type { FrameTransport, SystemAddress } from './FrameTransport.ts'
import { TransportFullError } from './errors.ts'
import { InboundGate } from './InboundGate.ts'

export interface RemotingOptions {
  /**
   * Most envelopes held for one peer between two frames before sends to it fail with
   * ERR_TRANSPORT_FULL. A batch leaves as soon as it holds `maxBatch`, so this binds only below it;
   * the transport's own bounds (`isFull`) are what push back on a fast sender. Default 100 000.
   */
  readonly maxBufferedPerPeer?: number
  /** Most envelopes in one frame. Default 1024. */
  readonly maxBatch?: number
  /**
   * With a transport that grants credit (NATS): a mailbox this deep, fed by a frame from another
   * node, makes Remoting hold further frames (and their senders' credit) until it is back to a
   * quarter of it. Keep mailbox capacities above this plus `maxBatch`. Default 4096.
   */
  readonly inboundHighWater?: number
  /** How often a held inbound flow checks whether congested mailboxes drained, in ms. Default 1. */
  readonly inboundCheckMs?: number
}

/** Counters for metrics. */
export interface RemotingStats {
  framesOut: number
  framesIn: number
  envelopesOut: number
  envelopesIn: number
  bytesOut: number
  bytesIn: number
  malformedFrames: number
  /** Malformed frames by the reason they were refused (`data.reason` of ERR_MALFORMED_FRAME: `length`, `depth`, `node`…). */
  malformedByReason: Record<string, number>
  undeliverable: number
  /** Frames the transport gave back, never to be delivered (peer down, long outage, closed): their envelopes are in `undeliverable`. */
  framesReturned: number
  /** Times inbound credited frames were held for a congested mailbox, and envelopes held right now. */
  inboundHolds: number
  inboundHeld: number
}

class Outbox {
  readonly address: SystemAddress
  envelopes: Envelope[] = []
  /** Listed in Remoting's pending outboxes (flushed at the end of the turn). */
  pending = false
  /** A user envelope passed the transport's room check since this outbox last went out. */
  admitted = false
  /** A send was refused because this outbox was at `maxBufferedPerPeer`: its flush makes room (waiting offers hear it). */
  refused = false
  constructor(address: SystemAddress) {
    this.address = address
  }
}

/**
 * Carries envelopes between actor systems over any FrameTransport: the system's RemoteRouter.
 * Envelopes for the same peer produced in one turn travel as one frame (one encode, one send);
 * that batching is where cross-boundary throughput comes from. What cannot be sent is never lost
 * silently: it becomes a dead letter (`undeliverable`) and an ask gets the error as its reply.
 */
export class Remoting implements RemoteRouter {
  readonly stats: RemotingStats = {
    framesOut: 0,
    framesIn: 0,
    envelopesOut: 0,
    envelopesIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    malformedFrames: 0,
    malformedByReason: Object.create(null) as Record<string, number>,
    undeliverable: 0,
    framesReturned: 0,
    inboundHolds: 0,
    inboundHeld: 0,
  }
  private readonly system: ActorSystem
  private readonly transport: FrameTransport
  private readonly maxBuffered: number
  private readonly maxBatch: number
  /** node -> shard -> outbox; nested maps so routing builds no key string per message. */
  private readonly outboxes = new Map<string, Outbox[]>()
  private readonly pending: Outbox[] = []
  private flushScheduled = false
  private lastAddress: ActorAddress | null = null
  private lastOutbox: Outbox | null = null
  private readonly flushBound = (): void => this.flush()
  /** Per reason: when it was last logged and how many refusals went unlogged since. */
  private readonly malformedLog: RateLimitedLog
  private readonly gate: InboundGate

  constructor(system: ActorSystem, transport: FrameTransport, options: RemotingOptions = {}) {
    this.system = system
    this.transport = transport
    this.maxBuffered = options.maxBufferedPerPeer ?? 100_000
    this.maxBatch = options.maxBatch ?? 1024
    // A refused frame is logged the first time for its reason, then at most once per 10 s with a count.
    this.malformedLog = new RateLimitedLog(system.clock, system.log)
    this.gate = new InboundGate(system, options.inboundHighWater ?? 4096, options.inboundCheckMs ?? 1, () => {
      this.stats.inboundHeld = this.gate.stats.heldEnvelopes
      transport.released?.()
    })
    transport.onFrame((frame, credited) => this.receive(frame, credited === true))
    transport.onUndelivered?.((to, frame, error) => this.returned(frame, error))
    transport.onPeerDown((node, shard, cause) => system.remoteDown(node, shard, cause))
    transport.onRoom?.((to) => system.remoteRoom(to === null ? null : to.node, to === null ? null : to.shard))
    system.setRemoteRouter(this)
  }

  route(envelope: Envelope): void {
    const address = envelope.target.address
    // A stream to one actor routes to the same outbox message after message.
    const outbox = this.lastAddress === address ? (this.lastOutbox as Outbox) : this.outboxFor(address)
    // Death-watch traffic (watch, unwatch, terminated) is never refused for congestion: like a
    // mailbox's system lane, it must not be lost because user messages filled the way.
    if (envelope.kind !== EnvelopeKind.System) this.admit(outbox)
    if (!outbox.pending) {
      outbox.pending = true
      this.pending.push(outbox)
    }
    // A full batch goes now: a long producing turn then streams frames the peer works on while
    // this thread produces more, and its envelopes die young instead of waiting for the slice to end.
    if (outbox.envelopes.push(envelope) >= this.maxBatch) this.sendOutbox(outbox)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      this.system.scheduler.defer(this.flushBound)
    }
  }

  /**
   * The offer path: `envelopes` (one target) go now as one frame, after what is buffered for that
   * peer, or none goes and the error is thrown (ERR_TRANSPORT_FULL while the transport is full, or
   * when it refuses this frame). Unlike `route`, a return means the transport has taken them.
   */
  sendNow(envelopes: Envelope[]): void {
    const outbox = this.outboxFor((envelopes[0] as Envelope).target.address)
    const { node, shard } = outbox.address
    if (this.transport.isFull?.(outbox.address) === true) {
      throw this.transport.fullError?.(outbox.address) ?? new TransportFullError(`the transport to ${node}:${shard} is full`, { data: { node, shard } })
    }
    // What tells buffered for that peer goes first: order per sender and target holds.
    if (outbox.envelopes.length > 0) this.sendOutbox(outbox)
    for (const envelope of envelopes) envelope.local = null
    const frame = this.system.codec.encodeBatch(envelopes)
    this.transport.send(outbox.address, frame, false)
    this.stats.framesOut++
    this.stats.bytesOut += frame.byteLength
    this.stats.envelopesOut += envelopes.length
  }

  /** Refuses a user envelope at the call while its peer's buffer or transport is full. */
  private admit(outbox: Outbox): void {
    const { node, shard } = outbox.address
    if (outbox.envelopes.length >= this.maxBuffered) {
      outbox.refused = true
      throw new TransportFullError(`${this.maxBuffered} messages already wait for ${node}:${shard}`, { data: { node, shard, limit: this.maxBuffered } })
    }
    // Once per batch: the transport's state only changes when frames are sent.
    if (!outbox.admitted && this.transport.isFull !== undefined) {
      if (this.transport.isFull(outbox.address)) {
        throw this.transport.fullError?.(outbox.address) ?? new TransportFullError(`the transport to ${node}:${shard} is full`, { data: { node, shard } })
      }
      outbox.admitted = true
    }
  }

  private outboxFor(address: ActorAddress): Outbox {
    let byShard = this.outboxes.get(address.node)
    if (byShard === undefined) {
      byShard = []
      this.outboxes.set(address.node, byShard)
    }
    let outbox = byShard[address.shard]
    if (outbox === undefined) {
      outbox = new Outbox({ system: address.system, node: address.node, shard: address.shard })
      byShard[address.shard] = outbox
    }
    this.lastAddress = address
    this.lastOutbox = outbox
    return outbox
  }

  /** Sends everything buffered, one frame per peer (split at maxBatch). */
  flush(): void {
    this.flushScheduled = false
    const pending = this.pending.splice(0)
    for (const outbox of pending) {
      outbox.pending = false
      if (outbox.envelopes.length > 0) this.sendOutbox(outbox)
    }
  }

  private sendOutbox(outbox: Outbox): void {
    const envelopes = outbox.envelopes
    outbox.envelopes = []
    outbox.admitted = false
    if (envelopes.length <= this.maxBatch) this.sendBatch(outbox.address, envelopes)
    else for (let i = 0; i < envelopes.length; i += this.maxBatch) this.sendBatch(outbox.address, envelopes.slice(i, i + this.maxBatch))
    if (outbox.refused) {
      outbox.refused = false
      this.system.remoteRoom(outbox.address.node, outbox.address.shard)
    }
  }

  /**
   * Decodes a frame from a peer and delivers its envelopes. A malformed frame is counted and dropped
   * whole. A `credited` frame may be held while a mailbox is congested: returns true when it is
   * (the transport is told when it is released, see InboundGate).
   */
  receive(frame: Uint8Array, credited = false): boolean {
    let envelopes: Envelope[]
    try {
      envelopes = this.system.codec.decodeBatch(frame)
    } catch (error) {
      this.malformed(error, frame.byteLength)
      return false
    }
    this.stats.framesIn++
    this.stats.bytesIn += frame.byteLength
    this.stats.envelopesIn += envelopes.length
    if (credited) {
      const held = this.gate.take(envelopes)
      this.stats.inboundHolds = this.gate.stats.holds
      this.stats.inboundHeld = this.gate.stats.heldEnvelopes
      return held
    }
    for (const envelope of envelopes) this.system.deliverInbound(envelope)
    return false
  }

  /** A frame this side sent that the transport gives back: each envelope is a dead letter with the reason, each ask fails with it. */
  private returned(frame: Uint8Array, error: Error): void {
    let envelopes: Envelope[]
    try {
      envelopes = this.system.codec.decodeBatch(frame)
    } catch (decodeError) {
      this.malformed(decodeError, frame.byteLength)
      return
    }
    this.stats.framesReturned++
    for (const envelope of envelopes) this.undeliverable(envelope, error)
  }

  /** Counts a refused frame by reason and logs it, rate-limited on the system's clock (a flood must not flood the log). */
  private malformed(error: unknown, bytes: number): void {
    const reason = malformedReason(error)
    this.stats.malformedFrames++
    this.stats.malformedByReason[reason] = (this.stats.malformedByReason[reason] ?? 0) + 1
    const message = error instanceof Error ? error.message : String(error)
    this.malformedLog.note(reason, { reason, bytes, error: message }, 'malformed frame dropped')
  }

  private sendBatch(to: SystemAddress, envelopes: Envelope[]): void {
    let frame: Uint8Array
    try {
      frame = this.system.codec.encodeBatch(envelopes)
    } catch (error) {
      const splittable = envelopes.length > 1 && (error instanceof MessageTooLargeError || error instanceof NotSerializableError)
      if (splittable) {
        // Find the envelope at fault without failing its neighbours.
        const half = envelopes.length >> 1
        this.sendBatch(to, envelopes.slice(0, half))
        this.sendBatch(to, envelopes.slice(half))
      } else {
        for (const envelope of envelopes) this.undeliverable(envelope, toError(error))
      }
      return
    }
    try {
      this.transport.send(to, frame, carriesDeathWatch(envelopes))
    } catch (error) {
      for (const envelope of envelopes) this.undeliverable(envelope, toError(error))
      return
    }
    this.stats.framesOut++
    this.stats.bytesOut += frame.byteLength
    this.stats.envelopesOut += envelopes.length
  }

  private undeliverable(envelope: Envelope, error: Error): void {
    this.stats.undeliverable++
    this.system.deadLetter(envelope, 'undeliverable', error)
    if (envelope.kind === EnvelopeKind.System && envelope.method === 'watch') {
      // A watch that cannot reach its actor would leave its watchers waiting forever: they hear now
      // that it is out of reach, with the reason closest to why (its shard, or its node, is gone).
      const { node, shard } = envelope.target.address
      const shardGone = error instanceof ShardDownError || (!(error instanceof NodeDownError) && node === this.system.node)
      this.system.remoteUnreachable(envelope.target, shardGone ? ExitReasons.shardDown(node, shard) : ExitReasons.nodeDown(node))
      return
    }
    if (envelope.kind === EnvelopeKind.Ask) {
      // Settle the local ask now, as its reply would: the asker learns why instead of timing out.
      const reply = new Envelope(EnvelopeKind.ReplyError, envelope.sender ?? envelope.target, envelope.target, 0, envelope.id, null, envelope.method, [error])
      this.system.deliverInbound(reply)
    } else if (envelope.kind === EnvelopeKind.ReplyOk && (error instanceof NotSerializableError || error instanceof MessageTooLargeError)) {
      // The handler succeeded but its value cannot travel: tell the remote asker why (an error
      // encodes), rather than leave it to time out.
      const failure = new Envelope(EnvelopeKind.ReplyError, envelope.target, envelope.sender, 0, envelope.correlationId, envelope.headers, envelope.method, [error])
      try {
        this.route(failure)
      } catch {
        // The route itself is refused: the asker will time out or hear node-down.
      }
    }
  }
}

function carriesDeathWatch(envelopes: readonly Envelope[]): boolean {
  for (const envelope of envelopes) if (envelope.kind === EnvelopeKind.System) return true
  return false
}
