import { ShardDownError, UnknownActorError, type Clock, type Runnable, type Scheduler, type TimerHandle } from '../../runtime/index.ts'
import { TransportClosedError, TransportFullError } from '../errors.ts'
import { systemKey, type FrameTransport, type SystemAddress } from '../FrameTransport.ts'
import { Doorbell, type WakeReason } from './Doorbell.ts'
import type { InboundFlow } from './InboundFlow.ts'
import { RingBuffer, type RingStats } from './RingBuffer.ts'
import type { PeerLinks, ThreadLinks } from './RingMesh.ts'

export interface RingTransportOptions {
  /** This system's address; its shard is this thread's index in the mesh. */
  readonly local: SystemAddress
  readonly links: ThreadLinks
  /** The system's scheduler: the inbound pump runs as one of its tasks, fairly among the actors. */
  readonly scheduler: Scheduler
  /** The system's clock (stall checks while delivery is paused). */
  readonly clock: Clock
  /** Consumer-side flow control, wired into the system's mailbox hooks. Without it, frames are delivered as they come. */
  readonly flow?: InboundFlow
  /** Most bytes held for one peer while its ring is full; past it sends fail with ERR_TRANSPORT_FULL. Default 16 MiB. */
  readonly maxOutboxBytes?: number
  /** While delivery is paused for a congested actor, how often to re-check it (see InboundFlow.recheck). Default 10 ms. */
  readonly stallCheckMs?: number
  /**
   * How long the inbound pump keeps polling its rings, once per event-loop turn, after the last
   * frame before it parks. Waking a parked thread costs tens of µs (an `Atomics.waitAsync`
   * resolution through the event loop); a reply or the next request of a conversation usually
   * comes sooner than this. 0 parks at once. Default 0.25 ms. Needs a scheduler with `poll`.
   */
  readonly spinMs?: number
}

/** Counters of one transport (one thread), for metrics scrapes. */
export interface RingTransportStats {
  framesOut: number
  bytesOut: number
  framesIn: number
  bytesIn: number
  /** Frames and bytes waiting in outboxes for a full ring, right now. */
  queuedFrames: number
  queuedBytes: number
  /** Sends refused with ERR_TRANSPORT_FULL. */
  outboxFull: number
  /** Frames given up because their shard went down (held in an outbox, or sent while it was down). */
  framesDropped: number
  /** Times the inbound pump parked on the data doorbell, and wake-ups by a producer's ring. */
  parks: number
  wakes: number
  /** Idle polls of the rings (once per event-loop turn, within `spinMs` of the last frame) before parking. */
  polls: number
  /** Times the outbox waited for ring space (parked on the space doorbell). */
  outboxParks: number
  /** Times delivery paused for a congested mailbox, and frames let through for an actor stalled on a reply (InboundFlow). */
  pauses: number
  stalls: number
  /** Inbound frames whose handler threw (counted, not rethrown: the pump must keep running). */
  handlerErrors: number
}

export interface RingPeerStats {
  readonly shard: number
  readonly up: boolean
  /** Producer-side counters of the ring to this peer (occupancy included). */
  readonly outbound: RingStats | null
  /** Consumer-side counters of the ring from this peer. */
  readonly inbound: RingStats | null
  readonly queuedFrames: number
  readonly queuedBytes: number
}

const DEFAULT_MAX_OUTBOX_BYTES = 16 * 1024 * 1024
const DEFAULT_STALL_CHECK_MS = 10
const DEFAULT_SPIN_MS = 0.25
/**
 * Most idle polls in a row, whatever the clock says: a clock that does not advance (a virtual clock
 * given to the main thread in a test) must not keep a thread polling forever. A poll takes at least
 * ~1 µs, so `spinMs * 1000` polls cover the window on a real clock; the constant covers short ones.
 */
const MIN_IDLE_POLL_CAP = 2048

class Peer {
  readonly shard: number
  up = false
  outbound: RingBuffer | null = null
  inbound: RingBuffer | null = null
  /** Frames waiting for room in `outbound`, oldest at `head`. */
  queue: Uint8Array[] = []
  head = 0
  queuedBytes = 0
  /** A frame was refused for room: refuse at the call until the outbox drains to half its bound. */
  refusing = false
  /** Someone was told this peer is full (a refusal, or `isFull`): tell the room handler once it is not. */
  wanted = false
  /** Its inbound ring is not read: its last frame fed a congested actor (InboundFlow). */
  paused = false
  constructor(shard: number) {
    this.shard = shard
  }
  get queued(): number {
    return this.queue.length - this.head
  }
}

/**
 * FrameTransport between the shards of one node (worker threads and the main thread) over
 * SharedArrayBuffer rings: one SPSC ring per directed pair, one data doorbell per consumer thread
 * shared by its inbound rings, one space doorbell per producer thread shared by its outbound rings.
 *
 * Outbound: `send` writes the frame (one Remoting batch) into the peer's ring. A full ring never
 * loses a frame: it waits in the peer's outbox, in order, and an async flusher parked on the space
 * doorbell pushes it when the consumer frees room (and so does every later send, first). Past
 * `maxOutboxBytes` `send` throws ERR_TRANSPORT_FULL (Remoting turns that into dead letters and
 * failed asks) and `isFull` stays true until half the bound is free; a frame carrying death-watch
 * traffic (`mustTake`) is queued past the bound.
 *
 * Inbound: a pump task on the system's scheduler takes one frame per inbound ring per turn, copies it
 * out of shared memory (decoders must not read memory the producer will overwrite, and msgpackr's
 * native string decoder crashes on SharedArrayBuffer views) and hands it to the frame handler
 * synchronously. With nothing to read it polls once per event-loop turn for `spinMs`, then parks
 * with `Atomics.waitAsync`; either way the event loop keeps running. With an InboundFlow it stops
 * reading while a fed mailbox is deep (see InboundFlow).
 */
export class RingTransport implements FrameTransport {
  readonly local: SystemAddress
  readonly counters: RingTransportStats = {
    framesOut: 0,
    bytesOut: 0,
    framesIn: 0,
    bytesIn: 0,
    queuedFrames: 0,
    queuedBytes: 0,
    outboxFull: 0,
    framesDropped: 0,
    parks: 0,
    wakes: 0,
    polls: 0,
    outboxParks: 0,
    pauses: 0,
    stalls: 0,
    handlerErrors: 0,
  }
  /** Called with each frame given up because its shard went down, so the owner can dead-letter its envelopes. */
  onDropped: ((frame: Uint8Array, shard: number) => void) | null = null

  private readonly self: number
  private readonly dataBell: Doorbell
  private readonly spaceBell: Doorbell
  private readonly scheduler: Scheduler
  private readonly clock: Clock
  private readonly flow: InboundFlow | null
  private readonly maxOutboxBytes: number
  private readonly stallCheckMs: number
  private readonly spinMs: number
  private readonly maxIdlePolls: number
  /** By shard number; undefined for this thread's own index. */
  private readonly peers: (Peer | undefined)[] = []
  /** Peers in a fixed order for the pump (its fairness cursor walks this). */
  private readonly peerList: Peer[] = []
  private frameHandler: ((frame: Uint8Array) => void) | null = null
  private readonly peerDownHandlers: ((node: string, shard: number | null) => void)[] = []
  private roomHandler: ((to: SystemAddress | null) => void) | null = null
  private closed = false

  // Pump state: scheduled (queued or running on the scheduler), polling (an idle poll is pending on
  // the host loop), parked (waitAsync pending); rings whose frames feed a congested actor are paused
  // one by one (Peer.paused), the others are read on.
  private scheduled = false
  private polling = false
  /** Clock time the pump last found nothing to read, or -1 while frames keep coming. */
  private idleSince = -1
  /** Polls since then. */
  private idlePolls = 0
  private parked = false
  /** Inbound rings paused for congestion right now. */
  private pausedRings = 0
  private stallTimer: TimerHandle | null = null
  private cursor = 0
  private readonly pumpTask: Runnable = { run: (budget) => this.pump(budget) }
  private readonly onWakeBound = (reason: WakeReason): void => this.onWake(reason)
  private readonly onStallBound = (): void => this.onStall()
  private readonly onPollBound = (): void => this.onPoll()
  private readonly onRingFrame = (buffer: Uint8Array, offset: number, length: number): void => this.deliver(buffer, offset, length)
  private flushing = false

  constructor(options: RingTransportOptions) {
    this.local = options.local
    this.self = options.links.self
    this.scheduler = options.scheduler
    this.clock = options.clock
    this.flow = options.flow ?? null
    this.maxOutboxBytes = options.maxOutboxBytes ?? DEFAULT_MAX_OUTBOX_BYTES
    this.stallCheckMs = options.stallCheckMs ?? DEFAULT_STALL_CHECK_MS
    this.spinMs = options.scheduler.poll === undefined ? 0 : (options.spinMs ?? DEFAULT_SPIN_MS)
    this.maxIdlePolls = Math.max(MIN_IDLE_POLL_CAP, Math.ceil(this.spinMs * 1000))
    this.dataBell = Doorbell.attach(options.links.dataBell)
    this.spaceBell = Doorbell.attach(options.links.spaceBell)
    for (const links of options.links.peers) {
      const peer = new Peer(links.shard)
      this.peers[links.shard] = peer
      this.peerList.push(peer)
      this.attachPeer(peer, links)
    }
    if (this.flow !== null) {
      this.flow.onRelieved = () => this.resumeAll()
      this.flow.now = () => this.clock.now()
    }
    this.schedule()
  }

  // ------------------------------------------------------------------ FrameTransport

  send(to: SystemAddress, frame: Uint8Array, mustTake = false): void {
    if (this.closed) throw new TransportClosedError(`shard transport of ${systemKey(this.local)} is closed`)
    const peer = to.node === this.local.node && to.system === this.local.system ? this.peers[to.shard] : undefined
    if (peer === undefined) {
      throw new UnknownActorError(`no route to ${systemKey(to)}: the shard rings of ${systemKey(this.local)} reach shards 0..${this.peers.length - 1} of its own node`, {
        data: { node: to.node, shard: to.shard },
      })
    }
    const ring = peer.outbound
    if (!peer.up || ring === null) {
      this.counters.framesDropped++
      throw new ShardDownError(`shard ${to.shard} of ${to.node} is down`, { data: { node: to.node, shard: to.shard } })
    }
    // Frames already waiting go first (order), and they go now if the consumer has made room: the
    // flusher's wake-up would wait for this busy thread's next event-loop turn.
    if (peer.head < peer.queue.length) this.pushPeer(peer, ring)
    if (peer.head === peer.queue.length && ring.tryWrite(frame)) {
      this.counters.framesOut++
      this.counters.bytesOut += frame.byteLength
      // A chunked frame's rest goes out as the consumer frees room.
      if (ring.pendingBytes > 0) this.startFlusher()
      return
    }
    // Death-watch frames may use a second bound as large again: past both, even they are refused
    // (a consumer stuck that long is as good as gone, and memory stays bounded).
    if (peer.queuedBytes + frame.byteLength > (mustTake ? 2 * this.maxOutboxBytes : this.maxOutboxBytes)) {
      this.counters.outboxFull++
      peer.refusing = true
      peer.wanted = true
      throw new TransportFullError(`the ring to shard ${to.shard} is full and ${peer.queuedBytes} bytes already wait for it`, {
        data: { node: to.node, shard: to.shard, queuedBytes: peer.queuedBytes, limit: this.maxOutboxBytes },
      })
    }
    peer.queue.push(frame)
    peer.queuedBytes += frame.byteLength
    this.counters.queuedFrames++
    this.counters.queuedBytes += frame.byteLength
    this.startFlusher()
  }

  /**
   * Whether a send to `to` would be refused for lack of room right now (its outbox is at the bound).
   * Lets Remoting refuse a tell at the call (ERR_TRANSPORT_FULL thrown to the sender) instead of
   * turning the whole batch into dead letters at flush time.
   */
  isFull(to: SystemAddress): boolean {
    const peer = to.node === this.local.node && to.system === this.local.system ? this.peers[to.shard] : undefined
    if (this.closed) return true
    if (peer === undefined || !this.full(peer)) return false
    peer.wanted = true
    return true
  }

  /** What a send refused now throws: closed, or the outbox bound (the default, ERR_TRANSPORT_FULL). */
  fullError(to: SystemAddress): Error | undefined {
    return this.closed ? new TransportClosedError(`shard transport of ${systemKey(this.local)} is closed (send to ${systemKey(to)})`) : undefined
  }

  /** After a refusal, full until half the bound is free (the hysteresis pushPeer applies too); a refusal with little or nothing waiting behind it says nothing about the next frame. */
  private full(peer: Peer): boolean {
    return (peer.refusing && peer.queuedBytes > this.maxOutboxBytes / 2) || peer.queuedBytes >= this.maxOutboxBytes
  }

  /** Hears when a peer that was full has room again (offers waiting for it go), and `null` once closed. */
  onRoom(handler: (to: SystemAddress | null) => void): void {
    this.roomHandler = handler
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler
    this.kick()
  }

  onPeerDown(handler: (node: string, shard: number | null) => void): void {
    this.peerDownHandlers.push(handler)
  }

  /** Stops reading and writing. Frames still in outboxes are given up (see `onDropped`). */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    if (this.stallTimer !== null) this.clock.clearTimer(this.stallTimer)
    // Resolve our own pending parks so nothing waits on a transport that is gone.
    this.dataBell.ring()
    this.spaceBell.ring()
    for (const peer of this.peerList) this.dropQueued(peer)
    // Offers still waiting try again and hear ERR_TRANSPORT_CLOSED.
    this.roomHandler?.(null)
    return Promise.resolve()
  }

  // ------------------------------------------------------------------ shard membership

  /**
   * `shard` died: frames it completed before dying are still delivered, then its rings are dropped,
   * frames waiting for it are given up, and the peer-down handlers (Remoting → remoteDown) run.
   * Sends to it fail with ERR_SHARD_DOWN until `peerUp`.
   */
  peerDown(shard: number): void {
    const peer = this.peers[shard]
    if (peer === undefined || !peer.up) return
    peer.up = false
    const inbound = peer.inbound
    if (inbound !== null && this.frameHandler !== null) {
      while (inbound.drain(this.onRingFrame, 1) > 0) {
        // deliver everything it finished writing
      }
    }
    peer.inbound = null
    peer.outbound = null
    this.unpause(peer)
    for (const handler of this.peerDownHandlers) handler(this.local.node, shard)
    this.dropQueued(peer)
    // The outbox flusher may be parked waiting for room in the dead shard's ring: wake it to re-check.
    this.spaceBell.ring()
  }

  /** `shard` is back (restarted) with fresh rings. */
  peerUp(links: PeerLinks): void {
    const peer = this.peers[links.shard]
    if (peer === undefined) return
    this.dropQueued(peer)
    this.attachPeer(peer, links)
    this.kick()
    this.spaceBell.ring()
  }

  /**
   * Frames not yet handed over: waiting in outboxes for ring room, plus one for each inbound ring
   * that still holds data (unread while delivery is paused). Zero means the rings are empty as far
   * as this thread can see; a drain before shutdown waits for it.
   */
  pendingFrames(): number {
    let pending = this.counters.queuedFrames
    for (const peer of this.peerList) {
      if (peer.inbound !== null && peer.inbound.hasData()) pending++
      if (peer.outbound !== null && peer.outbound.pendingBytes > 0) pending++
    }
    return pending
  }

  isUp(shard: number): boolean {
    return this.peers[shard]?.up === true
  }

  // ------------------------------------------------------------------ metrics

  stats(): { transport: RingTransportStats; peers: RingPeerStats[] } {
    return {
      transport: { ...this.counters },
      peers: this.peerList.map((peer) => ({
        shard: peer.shard,
        up: peer.up,
        outbound: peer.outbound === null ? null : peer.outbound.stats(),
        inbound: peer.inbound === null ? null : peer.inbound.stats(),
        queuedFrames: peer.queued,
        queuedBytes: peer.queuedBytes,
      })),
    }
  }

  // ------------------------------------------------------------------ inbound pump

  private schedule(): void {
    if (this.scheduled || this.closed) return
    this.scheduled = true
    this.scheduler.schedule(this.pumpTask)
  }

  /** Makes the pump look at the rings now (a new peer, a new handler). */
  private kick(): void {
    if (this.parked) this.dataBell.ring()
    else if (!this.polling) this.schedule()
  }

  /**
   * One scheduler turn: at most one frame from each inbound ring that is not paused, round-robin. A
   * ring whose frame fed a congested actor is paused (its producer fills it, then its outbox, then
   * gets ERR_TRANSPORT_FULL); rings that feed other actors are read on.
   */
  private pump(_budget: number): boolean {
    if (this.closed || this.frameHandler === null) {
      this.scheduled = false
      return false
    }
    const peers = this.peerList
    const count = peers.length
    const flow = this.flow
    let delivered = 0
    for (let i = 0; i < count; i++) {
      const peer = peers[(this.cursor + i) % count] as Peer
      const ring = peer.inbound
      if (ring === null || peer.paused) continue
      if (flow !== null) {
        flow.delivering = true
        flow.touched = false
      }
      let got = 0
      try {
        got = ring.drain(this.onRingFrame, 1)
      } catch {
        // A frame handler must not stop the pump; the frame counts as consumed.
        got = 1
        this.counters.handlerErrors++
      } finally {
        if (flow !== null) flow.delivering = false
      }
      delivered += got
      if (got > 0 && flow !== null && flow.touched) this.pausePeer(peer)
    }
    this.cursor = (this.cursor + 1) % count
    if (delivered > 0) {
      this.idleSince = -1
      return true
    }
    this.scheduled = false
    this.idle()
    return false
  }

  /** Nothing to read: poll again after the host's next I/O turn while within the spin window, else park. */
  private idle(): void {
    if (this.spinMs > 0 && !this.closed) {
      const now = this.clock.now()
      if (this.idleSince < 0) {
        this.idleSince = now
        this.idlePolls = 0
      }
      if (now - this.idleSince < this.spinMs && this.idlePolls++ < this.maxIdlePolls) {
        this.polling = true
        this.counters.polls++
        ;(this.scheduler.poll as (callback: () => void) => void)(this.onPollBound)
        return
      }
    }
    this.idleSince = -1
    this.park()
  }

  private onPoll(): void {
    this.polling = false
    if (this.scheduled || this.closed) return
    if (this.anyInbound()) this.schedule()
    else this.idle()
  }

  private deliver(buffer: Uint8Array, offset: number, length: number): void {
    // Ring views are only valid until the next read and live in shared memory: copy (a chunked
    // frame arrives already assembled in a private buffer).
    const frame = buffer.buffer instanceof SharedArrayBuffer ? buffer.slice(offset, offset + length) : buffer.subarray(offset, offset + length)
    this.counters.framesIn++
    this.counters.bytesIn += length
    ;(this.frameHandler as (frame: Uint8Array) => void)(frame)
  }

  private park(): void {
    if (this.closed) return
    const token = this.dataBell.prepare()
    if (this.anyInbound()) {
      this.dataBell.cancel()
      this.schedule()
      return
    }
    this.counters.parks++
    this.parked = true
    void this.dataBell.waitAsync(token).then(this.onWakeBound)
  }

  private onWake(reason: WakeReason): void {
    this.parked = false
    if (reason === 'ok') this.counters.wakes++
    this.schedule()
  }

  /** Whether a ring that is read (not paused) has a frame. */
  private anyInbound(): boolean {
    for (const peer of this.peerList) if (!peer.paused && peer.inbound !== null && peer.inbound.hasData()) return true
    return false
  }

  private pausePeer(peer: Peer): void {
    peer.paused = true
    this.pausedRings++
    this.counters.pauses++
    if (this.stallTimer === null) this.stallTimer = this.clock.setTimer(this.stallCheckMs, this.onStallBound)
  }

  /** Reads every ring again (congestion cleared, or one frame each for a stalled actor). */
  private resumeAll(): void {
    if (this.stallTimer !== null) {
      this.clock.clearTimer(this.stallTimer)
      this.stallTimer = null
    }
    if (this.pausedRings === 0) return
    this.pausedRings = 0
    for (const peer of this.peerList) peer.paused = false
    this.kick()
  }

  private onStall(): void {
    this.stallTimer = null
    if (this.pausedRings === 0 || this.closed) return
    const verdict = (this.flow as InboundFlow).recheck(this.clock.now())
    if (verdict === 'paused') {
      this.stallTimer = this.clock.setTimer(this.stallCheckMs, this.onStallBound)
      return
    }
    // 'stalled': the actor stays congested, so each ring pauses again after one frame that feeds it.
    if (verdict === 'stalled') this.counters.stalls++
    this.resumeAll()
  }

  // ------------------------------------------------------------------ outbox

  private startFlusher(): void {
    if (this.flushing) return
    this.flushing = true
    void this.flushLoop()
  }

  /** Pushes outboxes into their rings as space frees, parked on this thread's space doorbell meanwhile. */
  private async flushLoop(): Promise<void> {
    try {
      for (;;) {
        if (this.closed || this.pushQueued()) return
        const token = this.spaceBell.prepare()
        if (this.anyWritable()) {
          this.spaceBell.cancel()
          continue
        }
        this.counters.outboxParks++
        await this.spaceBell.waitAsync(token)
      }
    } finally {
      this.flushing = false
    }
  }

  /** Writes what fits; returns true when every outbox is empty and no chunked frame is half out. */
  private pushQueued(): boolean {
    let done = true
    for (const peer of this.peerList) {
      const ring = peer.outbound
      if (ring !== null && !this.pushPeer(peer, ring)) done = false
    }
    return done
  }

  /** Writes what fits of one peer's outbox; returns true when it is empty and no chunked frame is half out. */
  private pushPeer(peer: Peer, ring: RingBuffer): boolean {
    if (ring.pendingBytes > 0 && !ring.flush()) return false
    const queue = peer.queue
    while (peer.head < queue.length) {
      const frame = queue[peer.head] as Uint8Array
      if (!ring.tryWrite(frame)) break
      queue[peer.head++] = EMPTY
      peer.queuedBytes -= frame.byteLength
      this.counters.queuedFrames--
      this.counters.queuedBytes -= frame.byteLength
      this.counters.framesOut++
      this.counters.bytesOut += frame.byteLength
    }
    // Hysteresis: taking sends again only once half the bound is free keeps a producer from
    // flapping between accepted calls and refused frames.
    if (peer.refusing && peer.queuedBytes <= this.maxOutboxBytes / 2) peer.refusing = false
    if (peer.wanted && !this.full(peer)) {
      peer.wanted = false
      this.roomHandler?.({ system: this.local.system, node: this.local.node, shard: peer.shard })
    }
    if (peer.head < queue.length) return false
    queue.length = 0
    peer.head = 0
    return ring.pendingBytes === 0
  }

  private anyWritable(): boolean {
    for (const peer of this.peerList) {
      const ring = peer.outbound
      if (ring === null) continue
      if (ring.pendingBytes > 0 && ring.canWrite(0)) return true
      if (peer.head < peer.queue.length && ring.canWrite((peer.queue[peer.head] as Uint8Array).byteLength)) return true
    }
    return false
  }

  private dropQueued(peer: Peer): void {
    const frames = peer.queue.slice(peer.head)
    this.counters.queuedFrames -= frames.length
    this.counters.queuedBytes -= peer.queuedBytes
    peer.queue = []
    peer.head = 0
    peer.queuedBytes = 0
    peer.refusing = false
    peer.wanted = false
    this.counters.framesDropped += frames.length
    const onDropped = this.onDropped
    if (onDropped !== null) for (const frame of frames) onDropped(frame, peer.shard)
  }

  private unpause(peer: Peer): void {
    if (!peer.paused) return
    peer.paused = false
    this.pausedRings--
  }

  private attachPeer(peer: Peer, links: PeerLinks): void {
    this.unpause(peer)
    peer.outbound = RingBuffer.attach(links.outbound, { dataBell: Doorbell.attach(links.peerDataBell), spaceBell: this.spaceBell })
    peer.inbound = RingBuffer.attach(links.inbound, { dataBell: this.dataBell, spaceBell: Doorbell.attach(links.peerSpaceBell) })
    peer.up = true
  }
}

const EMPTY = new Uint8Array(0)
