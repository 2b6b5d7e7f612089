import type { NatsConnection, QueuedIterator, Status, Subscription } from '@nats-io/nats-core'
import { NodeDownError, RateLimitedLog, ShardDownError, silentLogger, type Clock, type TimerHandle } from '../../runtime/index.ts'
import { TransportClosedError, TransportFullError } from '../errors.ts'
import type { FrameTransport, SystemAddress } from '../FrameTransport.ts'
import { NatsDownError, quarantinedError } from './errors.ts'
import { flushWithin } from './flushWithin.ts'
import { FrameSigner } from './FrameSigner.ts'
import { HeartbeatMembership } from './HeartbeatMembership.ts'
import { InboundHold } from './InboundHold.ts'
import { DATA_FIXED_BYTES, newSession, nodeBytes } from './LinkFrames.ts'
import { LinkInbound, type FrameHandler } from './LinkInbound.ts'
import { LinkPeers, PeerState } from './LinkPeers.ts'
import { LinkReceiver } from './LinkReceiver.ts'
import { LinkSender } from './LinkSender.ts'
import { NatsPublisher } from './NatsPublisher.ts'
import type { Membership, MembershipListener } from './Membership.ts'
import { linkSettings, newNatsTransportStats, type NatsTransportOptions, type NatsTransportStats } from './NatsTransportOptions.ts'
import { DEFAULT_SUBJECT_PREFIX, Subjects } from './subjects.ts'

export type { NatsTransportOptions, NatsTransportStats, NatsTransportSystem } from './NatsTransportOptions.ts'

/** How long `close()` waits for what was published to reach the server. */
const FLUSH_ON_CLOSE_MS = 2000

/**
 * FrameTransport over NATS. One subscription per shard (`<prefix>.<cluster>.sys.<node>.<shard>`),
 * one publish per frame: Remoting already batches a turn's envelopes per destination, so the
 * transport adds no per-message work.
 *
 * NATS core delivers at most once, and a link fault loses what was on the way, so the transport
 * runs a reliable link on top (LinkSender, LinkReceiver; docs/protocol.md): every frame carries a
 * sequence number per (sending shard run, receiving shard), is retained until the receiver
 * acknowledges it, goes again after a reconnect, and the receiver drops duplicates. The receiver
 * grants credit as Remoting takes frames into mailboxes, so a slow receiver pushes back on its
 * senders (`isFull`, ERR_TRANSPORT_FULL) instead of overflowing. Retention is bounded; past it a
 * send is refused at the call. Frames that can never be delivered (peer down, a long outage,
 * closing) are given back to Remoting (`onUndelivered`) as dead letters and failed asks.
 *
 * The membership may hold the link (`holding()`: this node may have been away): nothing is
 * published, and inbound frames wait unacknowledged in an InboundHold until it resumes, so their
 * senders keep them. If instead it learns this node was quarantined, everything retained or held is
 * given up (ERR_QUARANTINED), never resent. New work to a peer that announced it is leaving is
 * refused at the call (ERR_PEER_LEAVING); replies still go.
 */
export class NatsTransport implements FrameTransport {
  readonly local: SystemAddress
  readonly subjects: Subjects
  readonly membership: Membership
  readonly stats: NatsTransportStats = newNatsTransportStats()
  /** This run of this shard's link: a new transport is a new sender and receiver to its peers. */
  readonly session: number
  private readonly connection: NatsConnection
  private readonly clock: Clock
  private readonly ownsConnection: boolean
  private readonly peers = new LinkPeers()
  private readonly signer: FrameSigner | null
  private readonly publisher: NatsPublisher
  private readonly sender: LinkSender
  private readonly receiver: LinkReceiver
  private readonly inbound: LinkInbound
  /** Inbound frames held while the membership holds the link; the quarantined state (InboundHold.ts). */
  private readonly hold: InboundHold
  private readonly ackTimeoutMs: number
  private readonly outageFailAfterMs: number
  private undeliveredHandler: ((to: SystemAddress, frame: Uint8Array, error: Error) => void) | null = null
  private roomHandler: ((to: SystemAddress | null) => void) | null = null
  private readonly peerDownHandlers: ((node: string, shard: number | null, cause?: Error) => void)[] = []
  private readonly peerUpHandlers: ((node: string) => void)[] = []
  private readonly linkHandlers: ((connected: boolean) => void)[] = []
  private readonly quarantineHandlers: ((byNode: string) => void)[] = []
  private subscription: Subscription | null = null
  private ackSubscription: Subscription | null = null
  private statusIterator: AsyncIterable<Status> | null = null
  private linkUp = true
  /** The link has been down longer than `outageAskFailAfterMs`: sends are refused at the call. */
  private outage = false
  private outageTimer: TimerHandle | null = null
  private resendTimer: TimerHandle | null = null
  private readonly tickBound = (): void => this.resendTick()
  private closed = false
  private closing: Promise<void> | null = null

  /** Subscribes, starts the membership, and resolves once frames for this shard can arrive. */
  static async start(options: NatsTransportOptions): Promise<NatsTransport> {
    const transport = new NatsTransport(options)
    await transport.open()
    return transport
  }

  private constructor(options: NatsTransportOptions) {
    const system = options.system
    this.connection = options.connection
    this.clock = system.clock
    this.local = { system: system.name, node: system.node, shard: system.shard }
    this.subjects = new Subjects(options.cluster ?? system.name, options.prefix ?? DEFAULT_SUBJECT_PREFIX)
    this.subjects.frames(system.node, system.shard) // validates the node name as a subject token
    const { maxFrames, maxBytes, maxQueuedBytesPerPeer, windowBytes, ackDelayMs, ackTimeoutMs, outageFailAfterMs } = linkSettings(options)
    this.ackTimeoutMs = ackTimeoutMs
    this.outageFailAfterMs = outageFailAfterMs
    this.ownsConnection = options.ownsConnection === true
    this.signer = options.clusterSecret === undefined ? null : new FrameSigner(options.clusterSecret)
    this.publisher = new NatsPublisher(this.connection, this.signer, this.stats)
    const log = system.log ?? silentLogger
    this.session = newSession(() => system.random.next())
    // The link header goes in front of every frame: let the codec leave its room there.
    system.codec?.reserveFrameHeadroom(DATA_FIXED_BYTES + nodeBytes(system.node).byteLength)
    this.sender = new LinkSender({
      node: system.node,
      shard: system.shard,
      session: this.session,
      clock: system.clock,
      stats: this.stats,
      maxFrames,
      maxBytes,
      maxQueuedBytesPerPeer,
      ackTimeoutMs,
      publish: (subject, bytes) => this.publisher.frame(subject, bytes),
      canSend: (node) => this.canSend(node),
      refusal: (to, detail) => this.refusal(to, detail),
      undelivered: (to, frame, error) => this.undeliveredHandler?.(to, frame, error),
      room: (to) => this.roomHandler?.(to),
    })
    this.receiver = new LinkReceiver({
      node: system.node,
      shard: system.shard,
      session: this.session,
      windowBytes,
      ackDelayMs,
      clock: system.clock,
      stats: this.stats,
      publishAck: (node, shard, bytes) => this.publishAck(node, shard, bytes),
    })
    this.inbound = new LinkInbound(this.stats, this.signer, new RateLimitedLog(system.clock, log), this.receiver, this.sender, maxFrames)
    this.hold = new InboundHold(maxFrames, maxBytes, this.stats)
    const heartbeat = options.heartbeat ?? {}
    this.membership =
      options.membership ??
      new HeartbeatMembership({
        ...heartbeat,
        publish: heartbeat.publish ?? system.shard === 0,
        connection: options.connection,
        clock: system.clock,
        random: system.random,
        subject: this.subjects.heartbeat,
        node: system.node,
        signer: this.signer,
        log,
      })
  }

  get connected(): boolean {
    return this.linkUp && !this.closed
  }

  /** Nodes the membership considers alive. */
  members(): string[] {
    return this.membership.members()
  }

  /** Frames Remoting holds right now because a target mailbox is congested (credit not yet given back). */
  get heldFrames(): number {
    return this.receiver.heldFrames
  }

  send(to: SystemAddress, frame: Uint8Array, mustTake = false): void {
    if (this.closed) throw new TransportClosedError(`NATS transport of ${this.local.node}:${this.local.shard} is closed`)
    if (this.hold.quarantinedBy !== null) throw quarantinedError(this.local.node, this.hold.quarantinedBy)
    // Shard or node down (ERR_SHARD_DOWN, ERR_NODE_DOWN), new work to a leaving peer (ERR_PEER_LEAVING).
    this.peers.check(to, frame)
    if (this.outage) throw this.outageError()
    // While the membership holds the link, canSend() is false: the frame is retained, waiting.
    this.sender.send(to, this.subjects.frames(to.node, to.shard), frame, mustTake)
  }

  /** Whether `send(to, …)` would be refused now: closed, an outage past its bound, or the retention bounds (then `fullError` says which). */
  isFull(to: SystemAddress): boolean {
    return this.closed || this.outage || this.sender.isFull(to)
  }

  fullError(to: SystemAddress): Error {
    if (this.closed) return new TransportClosedError(`NATS transport of ${this.local.node}:${this.local.shard} is closed`)
    return this.outage ? this.outageError() : this.refusal(to, 'the retention bound is reached')
  }

  released(): void {
    this.receiver.released()
  }

  /** Hears when a peer shard reported full has room again: credit came, or its frames were acknowledged or given back. */
  onRoom(handler: (to: SystemAddress | null) => void): void {
    this.roomHandler = handler
  }

  onFrame(handler: FrameHandler): void {
    this.inbound.setHandler(handler)
  }

  onUndelivered(handler: (to: SystemAddress, frame: Uint8Array, error: Error) => void): void {
    this.undeliveredHandler = handler
  }

  /** `cause`: what asks in flight to it fail with (default ERR_NODE_DOWN / ERR_SHARD_DOWN). */
  onPeerDown(handler: (node: string, shard: number | null, cause?: Error) => void): void {
    this.peerDownHandlers.push(handler)
  }

  /** Hears when a peer is reachable (joined, confirmed after a reconnect, or back after being down): for logs and metrics. */
  onPeerUp(handler: (node: string) => void): void {
    this.peerUpHandlers.push(handler)
  }

  /** Hears when this node's NATS link goes down or comes back (readiness probes, logs). */
  onLinkChange(handler: (connected: boolean) => void): void {
    this.linkHandlers.push(handler)
  }

  /**
   * Hears when this node learns that `byNode` declared it down and quarantined it: its remote
   * traffic has stopped (sends and asks in flight fail with ERR_QUARANTINED); it must restart to rejoin.
   */
  onQuarantined(handler: (byNode: string) => void): void {
    this.quarantineHandlers.push(handler)
  }

  /** The peer that quarantined this node, or null. */
  get quarantined(): string | null {
    return this.hold.quarantinedBy
  }

  /**
   * First phase of a graceful shutdown: peers mark this node leaving and send it no new work (their
   * sends fail with ERR_PEER_LEAVING, retriable) while replies and frames still flow both ways.
   * `close()` (leave) is the last word.
   */
  announceLeaving(): void {
    if (!this.closed) this.membership.announceLeaving()
  }

  /**
   * Acknowledges what arrived, waits (up to 2 s, link up) for peers to acknowledge what this shard
   * published, leaves the cluster (peers hear it at once), stops receiving, and pushes out what was
   * published. Frames still waiting are given back as dead letters. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown()
    return this.closing
  }

  private async open(): Promise<void> {
    this.subscription = this.connection.subscribe(this.subjects.frames(this.local.node, this.local.shard), {
      callback: (error, msg) => {
        if (error !== null) this.stats.receiveErrors++
        else if (this.hold.admit(msg.subject, msg.data, this.membership.holding?.() === true)) this.inbound.frame(msg.subject, msg.data)
      },
    })
    this.ackSubscription = this.connection.subscribe(this.subjects.acks(this.local.node, this.local.shard), {
      callback: (error, msg) => {
        if (error === null && this.hold.quarantinedBy === null) this.inbound.ack(msg.subject, msg.data)
      },
    })
    this.watchStatus()
    this.resendTimer = this.clock.setTimer(this.ackTimeoutMs, this.tickBound)
    await this.membership.start(this.listener)
  }

  /** One of this node's shards died: peers hear it through the membership (see FrameTransport). */
  localShardDown(shard: number): void {
    if (!this.closed) this.membership.shardDown?.(shard)
  }

  /** The shard is back (restarted): tell peers through the membership. */
  localShardUp(shard: number): void {
    if (!this.closed) this.membership.shardUp?.(shard)
  }

  private readonly listener: MembershipListener = {
    up: (node) => this.peerUp(node),
    down: (node, shard) => this.peerDown(node, shard),
    shardUp: (node, shard) => {
      this.peers.get(node)?.downShards?.delete(shard)
    },
    leaving: (node) => {
      this.peers.peer(node).leaving = true
    },
    quarantined: (byNode) => this.quarantine(byNode),
    resumed: () => this.resume(),
  }

  /**
   * The membership proved this node present and not quarantined: held inbound frames go to the link
   * (in arrival order; acknowledged now), and what waited to be published goes out.
   */
  private resume(): void {
    if (this.closed) return
    this.hold.release((subject, data) => this.inbound.frame(subject, data))
    if (this.linkUp) this.sender.resume(null)
  }

  /**
   * A peer declared this node down: its run is out of the cluster. Inbound frames held are dropped
   * unacknowledged, and so is everything that arrives later; every frame the link retains (published
   * and unacknowledged, or waiting) is given back with ERR_QUARANTINED and never resent (the peer may
   * have failed them already); every peer is out of reach (watchers get node-down, asks in flight
   * fail with ERR_QUARANTINED: their outcome is unknown); every later send fails with ERR_QUARANTINED.
   */
  private quarantine(byNode: string): void {
    if (this.closed || this.hold.quarantinedBy !== null) return
    this.hold.quarantine(byNode)
    this.receiver.forgetAll()
    const cause = quarantinedError(this.local.node, byNode)
    const nodes = this.peers.allDown()
    for (const node of this.membership.members()) if (!nodes.includes(node)) nodes.push(node)
    this.sender.fail(null, null, cause)
    for (const node of nodes) for (const handler of this.peerDownHandlers) handler(node, null, cause)
    for (const handler of this.quarantineHandlers) handler(byNode)
  }

  private publishAck(node: string, shard: number, bytes: Uint8Array): void {
    // A quarantined run sends nothing more, acks included (the peer dropped those streams anyway).
    if ((this.closed && this.closing === null) || this.hold.quarantinedBy !== null) return
    this.publisher.ack(this.subjects.acks(node, shard), bytes)
  }

  /** Whether frames may be published to `node` now: link up, not holding, not quarantined, peer reachable. */
  private canSend(node: string): boolean {
    if (!this.linkUp || this.closed || this.hold.quarantinedBy !== null || this.membership.holding?.() === true) return false
    return this.peers.reachable(node)
  }

  private refusal(to: SystemAddress, detail: string): Error {
    const data = { node: to.node, shard: to.shard, framesBuffered: this.stats.framesBuffered, framesUnacked: this.stats.framesUnacked }
    if (!this.linkUp) return new NatsDownError(`the NATS link is down and ${detail}`, { data })
    if (this.membership.holding?.() === true) return new NatsDownError(`this node is proving it is still a member (after a stall or a link check) and ${detail}`, { data })
    if (this.peers.pending(to.node)) return new NatsDownError(`${to.node} is not reachable yet after a NATS reconnect and ${detail}`, { data })
    return new TransportFullError(`the link to ${to.node}:${to.shard} is full: ${detail}`, { data })
  }

  private outageError(): NatsDownError {
    return new NatsDownError(`the NATS link has been down for more than ${this.outageFailAfterMs} ms`, { data: { outageAskFailAfterMs: this.outageFailAfterMs } })
  }

  private peerUp(node: string): void {
    if (this.closed) return
    const peer = this.peers.peer(node)
    peer.state = PeerState.Up
    peer.leaving = false
    // Heard again, so its subscriptions are back: what it has not acknowledged goes again, then what waited.
    if (this.linkUp) this.sender.resume(node)
    for (const handler of this.peerUpHandlers) handler(node)
  }

  private peerDown(node: string, shard: number | null): void {
    if (this.closed) return
    const peer = this.peers.peer(node)
    if (shard !== null) {
      ;(peer.downShards ??= new Set()).add(shard)
      this.sender.fail(node, shard, new ShardDownError(`shard ${shard} of ${node} is down`, { data: { node, shard } }))
    } else {
      peer.state = PeerState.Down
      peer.downShards = null
      // Down, left or restarted (a new incarnation): its streams here are over.
      this.receiver.forget(node)
      // What was retained for it becomes dead letters; asks fail with ERR_NODE_DOWN, watchers get node-down (below).
      this.sender.fail(node, null, new NodeDownError(`node ${node} is down`, { data: { node } }))
    }
    for (const handler of this.peerDownHandlers) handler(node, shard)
  }

  private linkChanged(up: boolean): void {
    if (this.closed || up === this.linkUp) return
    this.linkUp = up
    if (!up) {
      this.stats.linkDowns++
      this.peers.linkDown()
      this.outageTimer = this.clock.setTimer(this.outageFailAfterMs, () => this.outageOutlasted())
    } else {
      if (this.outageTimer !== null) this.clock.clearTimer(this.outageTimer)
      this.outageTimer = null
      this.outage = false
    }
    this.membership.linkChanged(up)
    // Peers never heard from get their frames now; known ones once heard again (peerUp).
    if (up) for (const node of this.peers.unknown()) this.sender.resume(node)
    for (const handler of this.linkHandlers) handler(up)
  }

  /** The outage outlasted its bound: what waits is failed, and sends are refused until the link is back. */
  private outageOutlasted(): void {
    this.outageTimer = null
    if (this.linkUp || this.closed) return
    this.outage = true
    this.sender.fail(null, null, this.outageError(), true)
  }

  private resendTick(): void {
    this.resendTimer = null
    if (this.closed) return
    this.sender.tick()
    this.resendTimer = this.clock.setTimer(this.ackTimeoutMs, this.tickBound)
  }

  private watchStatus(): void {
    const iterator = this.connection.status()
    this.statusIterator = iterator
    void (async () => {
      for await (const status of iterator) {
        switch (status.type) {
          case 'disconnect':
            this.linkChanged(false)
            break
          case 'reconnect':
            this.linkChanged(true)
            break
          case 'close':
            this.connectionClosed()
            return
        }
      }
    })()
  }

  /** The connection closed for good (not by us): every peer is out of reach from here. */
  private connectionClosed(): void {
    if (this.closed) return
    this.closed = true
    this.stopTimers()
    const nodes = this.peers.allDown()
    for (const node of this.membership.members()) if (!nodes.includes(node)) nodes.push(node)
    this.sender.fail(null, null, (to) => new NodeDownError(`node ${to.node} is out of reach: the NATS connection closed`, { data: { node: to.node } }))
    for (const node of nodes) for (const handler of this.peerDownHandlers) handler(node, null)
    void this.membership.stop()
  }

  private stopTimers(): void {
    if (this.resendTimer !== null) this.clock.clearTimer(this.resendTimer)
    if (this.outageTimer !== null) this.clock.clearTimer(this.outageTimer)
    this.resendTimer = null
    this.outageTimer = null
    this.receiver.close()
  }

  private async shutdown(): Promise<void> {
    const wasClosed = this.closed
    if (!wasClosed && !this.connection.isClosed()) {
      // Stop intake first: what peers send from now on stays retained on their side until they hear `leave`.
      this.subscription?.unsubscribe()
      if (this.linkUp) {
        // Acknowledge what arrived (peers drop it), then wait for peers to acknowledge what we published.
        this.receiver.flush()
        await this.inbound.acknowledged(this.clock, FLUSH_ON_CLOSE_MS)
      }
    }
    this.closed = true
    this.stopTimers()
    this.sender.fail(null, null, new TransportClosedError(`NATS transport of ${this.local.node}:${this.local.shard} closed`), true)
    await this.membership.stop()
    ;(this.statusIterator as Partial<QueuedIterator<Status>> | null)?.stop?.()
    if (!wasClosed && !this.connection.isClosed()) {
      this.ackSubscription?.unsubscribe()
      if (this.linkUp) await flushWithin(this.connection, this.clock, FLUSH_ON_CLOSE_MS)
    }
    if (this.ownsConnection && !this.connection.isClosed()) await this.connection.drain().catch(() => {})
  }
}
