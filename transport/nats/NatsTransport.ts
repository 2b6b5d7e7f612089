import type { NatsConnection, QueuedIterator, Status, Subscription } from '@nats-io/nats-core'
import { MessageTooLargeError, NodeDownError, RateLimitedLog, ShardDownError, silentLogger, toError, type Clock, type TimerHandle } from '../../runtime/index.ts'
import { TransportClosedError, TransportFullError } from '../errors.ts'
import type { FrameTransport, SystemAddress } from '../FrameTransport.ts'
import { NatsDownError } from './errors.ts'
import { flushWithin } from './flushWithin.ts'
import { FrameSigner } from './FrameSigner.ts'
import { HeartbeatMembership } from './HeartbeatMembership.ts'
import { newSession } from './LinkFrames.ts'
import { LinkInbound, type FrameHandler } from './LinkInbound.ts'
import { LinkReceiver } from './LinkReceiver.ts'
import { LinkSender } from './LinkSender.ts'
import type { Membership, MembershipListener } from './Membership.ts'
import { linkSettings, newNatsTransportStats, type NatsTransportOptions, type NatsTransportStats } from './NatsTransportOptions.ts'
import { DEFAULT_SUBJECT_PREFIX, Subjects } from './subjects.ts'

export type { NatsTransportOptions, NatsTransportStats, NatsTransportSystem } from './NatsTransportOptions.ts'

/** How long `close()` waits for what was published to reach the server. */
const FLUSH_ON_CLOSE_MS = 2000

const PeerState = {
  /** Never heard from: frames go out optimistically. */
  Unknown: 0,
  /** Heard since the link last came up. */
  Up: 1,
  /** Heard before the link went down; frames wait until it is heard again. */
  Pending: 2,
  /** Declared down: sends fail fast with ERR_NODE_DOWN until it is heard again. */
  Down: 3,
} as const
type PeerState = (typeof PeerState)[keyof typeof PeerState]

class Peer {
  state: PeerState = PeerState.Unknown
  /** Its shards that are down (it said so): sends to them fail fast until they run again. */
  downShards: Set<number> | null = null
}

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
  private readonly peers = new Map<string, Peer>()
  private readonly signer: FrameSigner | null
  private readonly sender: LinkSender
  private readonly receiver: LinkReceiver
  private readonly inbound: LinkInbound
  private readonly ackTimeoutMs: number
  private readonly outageFailAfterMs: number
  private undeliveredHandler: ((to: SystemAddress, frame: Uint8Array, error: Error) => void) | null = null
  private readonly peerDownHandlers: ((node: string, shard: number | null) => void)[] = []
  private readonly peerUpHandlers: ((node: string) => void)[] = []
  private readonly linkHandlers: ((connected: boolean) => void)[] = []
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
    const log = system.log ?? silentLogger
    this.session = newSession(() => system.random.next())
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
      publish: (subject, bytes) => this.publish(subject, bytes),
      canSend: (node) => this.canSend(node),
      refusal: (to, detail) => this.refusal(to, detail),
      undelivered: (to, frame, error) => this.undeliveredHandler?.(to, frame, error),
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
    const peer = this.peers.get(to.node)
    if (peer?.downShards?.has(to.shard) === true) {
      throw new ShardDownError(`shard ${to.shard} of ${to.node} is down`, { data: { node: to.node, shard: to.shard } })
    }
    if (peer?.state === PeerState.Down) throw new NodeDownError(`node ${to.node} is down`, { data: { node: to.node } })
    if (this.outage) throw this.outageError()
    this.sender.send(to, this.subjects.frames(to.node, to.shard), frame, mustTake)
  }

  isFull(to: SystemAddress): boolean {
    return this.outage || this.sender.isFull(to)
  }

  fullError(to: SystemAddress): Error {
    return this.outage ? this.outageError() : this.refusal(to, 'the retention bound is reached')
  }

  released(): void {
    this.receiver.released()
  }

  onFrame(handler: FrameHandler): void {
    this.inbound.setHandler(handler)
  }

  onUndelivered(handler: (to: SystemAddress, frame: Uint8Array, error: Error) => void): void {
    this.undeliveredHandler = handler
  }

  onPeerDown(handler: (node: string, shard: number | null) => void): void {
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
        else this.inbound.frame(msg.subject, msg.data)
      },
    })
    this.ackSubscription = this.connection.subscribe(this.subjects.acks(this.local.node, this.local.shard), {
      callback: (error, msg) => {
        if (error === null) this.inbound.ack(msg.subject, msg.data)
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
  }

  private publishAck(node: string, shard: number, bytes: Uint8Array): void {
    if (this.closed && this.closing === null) return
    const subject = this.subjects.acks(node, shard)
    try {
      this.connection.publish(subject, this.signer === null ? bytes : this.signer.sign(subject, bytes))
      this.stats.acksOut++
    } catch {
      // The link is down: the sender resends after the reconnect and is acknowledged then.
    }
  }

  private publish(subject: string, frame: Uint8Array): void {
    try {
      this.connection.publish(subject, this.signer === null ? frame : this.signer.sign(subject, frame))
    } catch (error) {
      if (this.connection.isClosed()) throw new TransportClosedError('the NATS connection is closed', { cause: error })
      const message = toError(error).message
      if (message.includes('max_payload')) {
        throw new MessageTooLargeError(`frame of ${frame.byteLength} bytes exceeds the NATS server's max_payload`, { cause: error })
      }
      throw new NatsDownError(`NATS publish failed: ${message}`, { cause: error })
    }
    this.stats.framesOut++
    this.stats.bytesOut += frame.byteLength
  }

  private canSend(node: string): boolean {
    if (!this.linkUp || this.closed) return false
    const state = this.peers.get(node)?.state
    return state !== PeerState.Down && state !== PeerState.Pending
  }

  private refusal(to: SystemAddress, detail: string): Error {
    const data = { node: to.node, shard: to.shard, framesBuffered: this.stats.framesBuffered, framesUnacked: this.stats.framesUnacked }
    if (!this.linkUp) return new NatsDownError(`the NATS link is down and ${detail}`, { data })
    if (this.peers.get(to.node)?.state === PeerState.Pending) return new NatsDownError(`${to.node} is not reachable yet after a NATS reconnect and ${detail}`, { data })
    return new TransportFullError(`the link to ${to.node}:${to.shard} is full: ${detail}`, { data })
  }

  private outageError(): NatsDownError {
    return new NatsDownError(`the NATS link has been down for more than ${this.outageFailAfterMs} ms`, { data: { outageAskFailAfterMs: this.outageFailAfterMs } })
  }

  private peer(node: string): Peer {
    let peer = this.peers.get(node)
    if (peer === undefined) {
      peer = new Peer()
      this.peers.set(node, peer)
    }
    return peer
  }

  private peerUp(node: string): void {
    if (this.closed) return
    const peer = this.peer(node)
    peer.state = PeerState.Up
    // Heard again, so its subscriptions are back: what it has not acknowledged goes again, then what waited.
    if (this.linkUp) this.sender.resume(node)
    for (const handler of this.peerUpHandlers) handler(node)
  }

  private peerDown(node: string, shard: number | null): void {
    if (this.closed) return
    const peer = this.peer(node)
    if (shard !== null) {
      ;(peer.downShards ??= new Set()).add(shard)
      this.sender.fail(node, shard, new ShardDownError(`shard ${shard} of ${node} is down`, { data: { node, shard } }))
    } else {
      peer.state = PeerState.Down
      peer.downShards = null
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
      for (const peer of this.peers.values()) if (peer.state === PeerState.Up) peer.state = PeerState.Pending
      this.outageTimer = this.clock.setTimer(this.outageFailAfterMs, () => this.outageOutlasted())
    } else {
      if (this.outageTimer !== null) this.clock.clearTimer(this.outageTimer)
      this.outageTimer = null
      this.outage = false
    }
    this.membership.linkChanged(up)
    // Peers never heard from get their frames now; known ones once heard again (peerUp).
    if (up) for (const [node, peer] of this.peers) if (peer.state === PeerState.Unknown) this.sender.resume(node)
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
    const nodes = [...this.peers.keys()].filter((node) => this.peers.get(node)?.state !== PeerState.Down)
    for (const node of this.membership.members()) if (!nodes.includes(node)) nodes.push(node)
    this.sender.fail(null, null, (to) => new NodeDownError(`node ${to.node} is out of reach: the NATS connection closed`, { data: { node: to.node } }))
    for (const node of nodes) for (const handler of this.peerDownHandlers) handler(node, null)
    void this.membership.stop()
  }

  /** Resolves once peers acknowledged everything retained, or after `ms`. */
  private drain(ms: number): Promise<void> {
    if (this.sender.retained === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        this.inbound.afterAck = null
        this.clock.clearTimer(timer)
        resolve()
      }
      const timer = this.clock.setTimer(ms, done)
      this.inbound.afterAck = () => {
        if (this.sender.retained === 0) done()
      }
    })
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
        await this.drain(FLUSH_ON_CLOSE_MS)
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
