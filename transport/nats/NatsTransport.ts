import type { NatsConnection, QueuedIterator, Status, Subscription } from '@nats-io/nats-core'
import { InvalidArgumentError, MessageTooLargeError, NodeDownError, RateLimitedLog, ShardDownError, silentLogger, toError, type Clock } from '../../runtime/index.ts'
import { TransportClosedError } from '../errors.ts'
import type { FrameTransport, SystemAddress } from '../FrameTransport.ts'
import { NatsDownError, PeerLeavingError, quarantinedError } from './errors.ts'
import { flushWithin } from './flushWithin.ts'
import { FrameSigner } from './FrameSigner.ts'
import { HeartbeatMembership } from './HeartbeatMembership.ts'
import { carriesNewWork, InboundHold } from './InboundHold.ts'
import type { Membership, MembershipListener } from './Membership.ts'
import type { NatsTransportOptions, NatsTransportStats } from './NatsTransportOptions.ts'
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
  /** Subjects and frames in send order. */
  subjects: string[] = []
  frames: Uint8Array[] = []
  /** Its shards that are down (it said so): sends to them fail fast until they run again. */
  downShards: Set<number> | null = null
  /** It announced that it is leaving: new work to it fails with ERR_PEER_LEAVING; replies still go. */
  leaving = false
}

/**
 * FrameTransport over NATS. One subscription per shard (`<prefix>.<cluster>.sys.<node>.<shard>`),
 * one publish per frame: Remoting already batches a turn's envelopes per destination, so the
 * transport adds no per-message work.
 *
 * NATS core is at-most-once and nats.js discards what is published while disconnected, so the
 * transport holds frames itself while the link is down, and after a reconnect holds each peer's
 * frames until that peer is heard again (its subscription is back too). Holding is bounded; past the
 * bound a send throws NatsDownError (ERR_NATS_DOWN), which Remoting turns into dead letters and
 * failed asks: nothing is dropped without a trace. Peers that stop heartbeating are reported through
 * `onPeerDown`, and sends to them fail with ERR_NODE_DOWN until they come back.
 */
export class NatsTransport implements FrameTransport {
  readonly local: SystemAddress
  readonly subjects: Subjects
  readonly membership: Membership
  readonly stats: NatsTransportStats = {
    framesOut: 0,
    bytesOut: 0,
    framesIn: 0,
    bytesIn: 0,
    framesBuffered: 0,
    bytesBuffered: 0,
    framesAbandoned: 0,
    receiveErrors: 0,
    unauthenticatedFrames: 0,
    linkDowns: 0,
    framesHeldIn: 0,
    framesDroppedIn: 0,
  }
  private readonly connection: NatsConnection
  private readonly clock: Clock
  private readonly maxFrames: number
  private readonly maxBytes: number
  private readonly ownsConnection: boolean
  private readonly peers = new Map<string, Peer>()
  private readonly signer: FrameSigner | null
  private readonly forgeryWarning: RateLimitedLog
  private frameHandler: ((frame: Uint8Array) => void) | null = null
  /** Frames that arrived before Remoting registered its handler. */
  private early: Uint8Array[] = []
  private readonly peerDownHandlers: ((node: string, shard: number | null, cause?: Error) => void)[] = []
  private readonly peerUpHandlers: ((node: string) => void)[] = []
  private readonly linkHandlers: ((connected: boolean) => void)[] = []
  private readonly quarantineHandlers: ((byNode: string) => void)[] = []
  /** Frames that arrived while the membership held them; quarantine (InboundHold.ts). */
  private readonly inbound: InboundHold
  private subscription: Subscription | null = null
  private statusIterator: AsyncIterable<Status> | null = null
  private linkUp = true
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
    this.maxFrames = options.maxBufferedFrames ?? 10_000
    this.maxBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024
    if (!(this.maxFrames >= 0) || !(this.maxBytes >= 0)) throw new InvalidArgumentError('buffer bounds must be >= 0')
    this.inbound = new InboundHold(this.maxFrames, this.maxBytes, this.stats)
    this.ownsConnection = options.ownsConnection === true
    this.signer = options.clusterSecret === undefined ? null : new FrameSigner(options.clusterSecret)
    const log = system.log ?? silentLogger
    this.forgeryWarning = new RateLimitedLog(system.clock, log)
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

  send(to: SystemAddress, frame: Uint8Array, mustTake = false): void {
    if (this.closed) throw new TransportClosedError(`NATS transport of ${this.local.node}:${this.local.shard} is closed`)
    const subject = this.subjects.frames(to.node, to.shard)
    const peer = this.peers.get(to.node)
    if (this.inbound.quarantinedBy !== null) throw quarantinedError(this.local.node, this.inbound.quarantinedBy)
    if (peer?.downShards?.has(to.shard) === true) {
      throw new ShardDownError(`shard ${to.shard} of ${to.node} is down`, { data: { node: to.node, shard: to.shard } })
    }
    if (peer?.leaving === true && peer.state !== PeerState.Down && carriesNewWork(frame)) {
      throw new PeerLeavingError(`node ${to.node} is leaving and takes no new work`, { data: { node: to.node } })
    }
    const holding = this.membership.holding?.() === true
    if (this.linkUp && !holding && (peer === undefined || (peer.state !== PeerState.Down && peer.state !== PeerState.Pending && peer.frames.length === 0))) {
      this.publish(subject, frame)
      return
    }
    if (peer?.state === PeerState.Down) {
      throw new NodeDownError(`node ${to.node} is down`, { data: { node: to.node } })
    }
    this.hold(peer ?? this.peer(to.node), subject, frame, mustTake)
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frameHandler = handler
    const early = this.early
    this.early = []
    for (const frame of early) this.deliver(frame)
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
    return this.inbound.quarantinedBy
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
   * Leaves the cluster (peers hear it at once), stops receiving, and pushes out what was published.
   * Frames still held for unreachable peers are abandoned (counted). Idempotent.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown()
    return this.closing
  }

  private async open(): Promise<void> {
    this.subscription = this.connection.subscribe(this.subjects.frames(this.local.node, this.local.shard), {
      callback: (error, msg) => {
        if (error !== null) this.stats.receiveErrors++
        else if (this.inbound.admit(msg.subject, msg.data, this.membership.holding?.() === true)) this.accept(msg.subject, msg.data)
      },
    })
    this.watchStatus()
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
      this.peer(node).leaving = true
    },
    quarantined: (byNode) => this.quarantine(byNode),
    resumed: () => this.resume(),
  }

  private accept(subject: string, data: Uint8Array): void {
    if (this.signer === null) this.deliver(data)
    else this.deliverSigned(subject, data)
  }

  /** The membership proved this node present and not quarantined: held frames go, both ways, in order. */
  private resume(): void {
    if (this.closed) return
    this.inbound.release((subject, data) => this.accept(subject, data))
    if (!this.linkUp) return
    for (const peer of this.peers.values()) if (peer.state === PeerState.Unknown || peer.state === PeerState.Up) this.release(peer)
  }

  /**
   * A peer declared this node down: its run is out of the cluster. Frames held both ways are given
   * up (they may be ones the peer already failed), every peer is out of reach from here (watchers
   * get node-down, asks in flight fail with ERR_QUARANTINED: their outcome is unknown), and every
   * later send fails with ERR_QUARANTINED.
   */
  private quarantine(byNode: string): void {
    if (this.closed || this.inbound.quarantinedBy !== null) return
    this.inbound.quarantine(byNode)
    const cause = quarantinedError(this.local.node, byNode)
    const nodes: string[] = []
    for (const [node, peer] of this.peers) {
      this.abandon(peer)
      if (peer.state !== PeerState.Down) nodes.push(node)
      peer.state = PeerState.Down
    }
    for (const node of nodes) for (const handler of this.peerDownHandlers) handler(node, null, cause)
    for (const handler of this.quarantineHandlers) handler(byNode)
  }

  /** Checks the signature before anything decodes the bytes. */
  private deliverSigned(subject: string, signed: Uint8Array): void {
    const frame = (this.signer as FrameSigner).verify(subject, signed)
    if (frame !== null) return this.deliver(frame)
    this.stats.unauthenticatedFrames++
    this.forgeryWarning.note('forged', { subject, bytes: signed.byteLength, total: this.stats.unauthenticatedFrames }, 'dropped node frames without a valid cluster signature')
  }

  private deliver(frame: Uint8Array): void {
    this.stats.framesIn++
    this.stats.bytesIn += frame.byteLength
    const handler = this.frameHandler
    if (handler === null) {
      // Held until Remoting registers (normally the next line after start()); bounded like outbound holding.
      if (this.early.length < this.maxFrames) this.early.push(frame)
      else this.stats.receiveErrors++
      return
    }
    try {
      handler(frame)
    } catch {
      this.stats.receiveErrors++
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

  private peer(node: string): Peer {
    let peer = this.peers.get(node)
    if (peer === undefined) {
      peer = new Peer()
      this.peers.set(node, peer)
    }
    return peer
  }

  private hold(peer: Peer, subject: string, frame: Uint8Array, mustTake: boolean): void {
    const stats = this.stats
    // Death-watch frames may use a second bound as large again; past both, even they are refused.
    const scale = mustTake ? 2 : 1
    if (stats.framesBuffered + 1 > scale * this.maxFrames || stats.bytesBuffered + frame.byteLength > scale * this.maxBytes) {
      const why = this.linkUp ? 'a peer is not reachable yet after a NATS reconnect' : 'the NATS link is down'
      throw new NatsDownError(`${why} and ${stats.framesBuffered} frames (${stats.bytesBuffered} bytes) already wait`, {
        data: { framesBuffered: stats.framesBuffered, bytesBuffered: stats.bytesBuffered, maxFrames: this.maxFrames, maxBytes: this.maxBytes },
      })
    }
    peer.subjects.push(subject)
    peer.frames.push(frame)
    stats.framesBuffered++
    stats.bytesBuffered += frame.byteLength
  }

  /** Publishes a peer's held frames in order; stops (keeping the rest) if the link drops meanwhile. */
  private release(peer: Peer): void {
    const { subjects, frames } = peer
    let sent = 0
    while (sent < frames.length && this.linkUp && !this.closed) {
      const frame = frames[sent] as Uint8Array
      try {
        this.publish(subjects[sent] as string, frame)
      } catch {
        // The link failed under us: keep this frame and the rest for the next reconnect.
        break
      }
      this.stats.framesBuffered--
      this.stats.bytesBuffered -= frame.byteLength
      sent++
    }
    if (sent === 0) return
    peer.subjects = subjects.slice(sent)
    peer.frames = frames.slice(sent)
  }

  private abandon(peer: Peer): void {
    let bytes = 0
    for (const frame of peer.frames) bytes += frame.byteLength
    this.stats.framesAbandoned += peer.frames.length
    this.stats.framesBuffered -= peer.frames.length
    this.stats.bytesBuffered -= bytes
    peer.subjects = []
    peer.frames = []
  }

  private peerUp(node: string): void {
    if (this.closed) return
    const peer = this.peer(node)
    peer.state = PeerState.Up
    peer.leaving = false
    if (this.linkUp && this.membership.holding?.() !== true) this.release(peer)
    for (const handler of this.peerUpHandlers) handler(node)
  }

  private peerDown(node: string, shard: number | null): void {
    if (this.closed) return
    if (shard !== null) {
      const peer = this.peer(node)
      ;(peer.downShards ??= new Set()).add(shard)
    } else {
      const peer = this.peer(node)
      peer.state = PeerState.Down
      peer.downShards = null
      // Whoever waited on these frames hears of it below: asks fail with ERR_NODE_DOWN, watchers get node-down.
      this.abandon(peer)
    }
    for (const handler of this.peerDownHandlers) handler(node, shard)
  }

  private linkChanged(up: boolean): void {
    if (this.closed || up === this.linkUp) return
    this.linkUp = up
    if (!up) {
      this.stats.linkDowns++
      for (const peer of this.peers.values()) if (peer.state === PeerState.Up) peer.state = PeerState.Pending
    }
    this.membership.linkChanged(up)
    if (up && this.membership.holding?.() !== true) for (const peer of this.peers.values()) if (peer.state === PeerState.Unknown) this.release(peer)
    for (const handler of this.linkHandlers) handler(up)
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
    const nodes = [...this.peers.keys()].filter((node) => this.peers.get(node)?.state !== PeerState.Down)
    for (const node of this.membership.members()) if (!nodes.includes(node)) nodes.push(node)
    for (const peer of this.peers.values()) this.abandon(peer)
    for (const node of nodes) for (const handler of this.peerDownHandlers) handler(node, null)
    void this.membership.stop()
  }

  private async shutdown(): Promise<void> {
    const wasClosed = this.closed
    this.closed = true
    for (const peer of this.peers.values()) this.abandon(peer)
    await this.membership.stop()
    ;(this.statusIterator as Partial<QueuedIterator<Status>> | null)?.stop?.()
    if (!wasClosed && !this.connection.isClosed()) {
      this.subscription?.unsubscribe()
      if (this.linkUp) await flushWithin(this.connection, this.clock, FLUSH_ON_CLOSE_MS)
    }
    if (this.ownsConnection && !this.connection.isClosed()) await this.connection.drain().catch(() => {})
  }
}
