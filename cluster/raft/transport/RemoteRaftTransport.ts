import { ActorRef, RateLimitedLog, type ActorSystem } from '../../../runtime/index.ts'
import { RaftInvalidOptionsError, RaftMalformedMessageError } from '../errors.ts'
import type { RaftMessage } from '../messages.ts'
import { RaftCodec, type RaftCodecLimits } from '../RaftCodec.ts'
import type { RaftTransport } from '../RaftTransport.ts'
import { PathEndpoint, type EndpointLinkView } from './PathEndpoint.ts'
import { RaftEndpoint, type RaftEndpointProtocol } from './RaftEndpoint.ts'

/**
 * What the transport needs to know of the node link (NatsTransport fits it): which nodes are
 * reachable now, so that Raft never queues frames for a node that is down or absent.
 */
export type RaftLinkView = EndpointLinkView

export interface RemoteRaftTransportOptions {
  readonly system: ActorSystem
  /** The Raft group: one endpoint actor per group per node (`/user/raft-<group>`). */
  readonly group: string
  /** This server's Raft id. */
  readonly id: string
  /** Every other member of the group: Raft id → the node (ActorSystem `node`) it runs on. */
  readonly peers: Readonly<Record<string, string>>
  /** The node link's view of reachability. Without it every peer counts as reachable (the link's own bounds then apply). */
  readonly link?: RaftLinkView
  readonly limits?: RaftCodecLimits
  /**
   * Most append and snapshot bytes sent to one peer since it last answered; past it, its appends and
   * snapshot chunks are dropped until it speaks again (heartbeats still go, and get it answering).
   * Until the link declares a silent peer down, what is sent to it is retained by the link, whose
   * bound is shared by all peers: this keeps one silent peer from filling it. Default 16 MiB.
   */
  readonly maxUnansweredBytes?: number
  /**
   * The node a Raft id not in `peers` runs on, or null: for groups whose membership changes (cluster
   * state: servers are `node#incarnation`, added as members join). Default: only `peers` are known.
   */
  readonly resolvePeer?: (id: string) => string | null
}

/** Counters for metrics and tests. */
export interface RemoteRaftTransportStats {
  sent: number
  received: number
  /** Inbound bytes that failed RaftCodec validation (hostile or corrupt): dropped. */
  malformed: number
  /** Valid messages not for this server, from a Raft id that is not a peer, or without a sender endpoint ref: dropped. */
  rejected: number
  /**
   * Forged: a message claiming a peer's Raft id that arrived from another node (or another path)
   * than the one that id is bound to. Dropped, counted and logged: a node speaks only for its own id.
   */
  forged: number
  /** Outbound messages dropped because their peer's node is down or absent (Raft retries by itself). */
  droppedUnreachable: number
  /** Outbound messages the node link refused (full, closed, quarantined): dropped. */
  droppedRefused: number
  /** Outbound messages for an id that is not a peer: dropped. */
  droppedUnknownPeer: number
  /** Appends and snapshot chunks dropped because their peer has not answered `maxUnansweredBytes` of them. */
  droppedUnanswered: number
  /** Outbound messages larger than one actor message may be (ERR_MESSAGE_TOO_LARGE on the link): dropped. Size Raft with `sizeOptions()`. */
  droppedTooLarge: number
  /** Messages addressed to a former incarnation of this endpoint (first contact, peer restarts), claimed by path. */
  claimed: number
  /** Incarnations of the endpoint actor started (1, plus one per restart after a failure). */
  endpointStarts: number
}

/** Room left in one actor message for the envelope around the Raft bytes (addresses, method, sender ref). */
const ENVELOPE_ROOM = 4096

interface Peer {
  readonly node: string
  /** The peer endpoint's current incarnation, learnt from what it sends; a path-only ref (uid 0) until then. */
  ref: ActorRef<RaftEndpointProtocol>
  known: boolean
  /** Append and snapshot bytes sent since the peer last answered. */
  unanswered: number
}

/**
 * Raft messages over Remoting (the node transport: NATS between nodes). Each message is encoded with
 * RaftCodec and told to the peer's endpoint actor with the sender's endpoint ref; Remoting sends
 * everything a turn produced for one peer as one frame, so the driver's batch and pipeline survive
 * the hop without added latency. Inbound bytes are hostile: they are decoded and validated, and a
 * fault is counted, logged (rate-limited) and dropped, never thrown.
 *
 * Addressing (PathEndpoint): first contact is addressed by path (uid 0) and claimed from the
 * receiver's dead letters; the `from` ref of every message teaches the peer's current incarnation.
 */
export class RemoteRaftTransport implements RaftTransport {
  readonly stats: RemoteRaftTransportStats = { sent: 0, received: 0, malformed: 0, rejected: 0, forged: 0, droppedUnreachable: 0, droppedRefused: 0, droppedUnknownPeer: 0, droppedUnanswered: 0, droppedTooLarge: 0, claimed: 0, endpointStarts: 0 }
  readonly id: string
  private readonly system: ActorSystem
  private readonly codec: RaftCodec
  private readonly endpoint: PathEndpoint
  private readonly peers = new Map<string, Peer>()
  /** The endpoint's current incarnation (a restart after a failure reports itself again). */
  private self: ActorRef<RaftEndpointProtocol>
  private readonly faults: RateLimitedLog
  private readonly maxBytes: number
  private readonly maxUnanswered: number
  private handler: ((message: RaftMessage) => void) | null = null
  private closed = false
  private readonly resolvePeer: ((id: string) => string | null) | null

  constructor(options: RemoteRaftTransportOptions) {
    const { system, group, id } = options
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw new RaftInvalidOptionsError(`invalid Raft group name '${group}': use 1-64 letters, digits, _ or -`)
    if (Object.hasOwn(options.peers, id)) throw new RaftInvalidOptionsError(`the peers of ${id} must not include itself`)
    this.system = system
    this.id = id
    this.codec = new RaftCodec(options.limits)
    this.maxBytes = system.codec.maxMessageBytes - ENVELOPE_ROOM
    this.maxUnanswered = options.maxUnansweredBytes ?? 16 * 1024 * 1024
    if (!(this.maxUnanswered > 0)) throw new RaftInvalidOptionsError(`maxUnansweredBytes must be > 0, got ${this.maxUnanswered}`)
    if (!(this.maxBytes >= 64 * 1024)) throw new RaftInvalidOptionsError(`the system's maxMessageBytes (${system.codec.maxMessageBytes}) leaves no room for Raft messages`)
    this.faults = new RateLimitedLog(system.clock, system.log)
    const name = `raft-${group}`
    const receive = (bytes: unknown, from: unknown): void => this.receive(bytes, from)
    this.endpoint = new PathEndpoint({ system, path: `/user/${name}`, method: 'raft', stats: this.stats, receive, ...(options.link === undefined ? {} : { link: options.link }) })
    for (const [peerId, node] of Object.entries(options.peers)) this.addPeer(peerId, node)
    this.resolvePeer = options.resolvePeer ?? null
    // Supervised by the user guardian: a failure while handling a message restarts the endpoint in place
    // (same ref); the group's RaftNode lives outside the actor and loses nothing (docs/raft-nats.md).
    this.self = system.spawn(RaftEndpoint, { name, args: [receive, (self: ActorRef<RaftEndpointProtocol>) => this.started(self)] })
  }

  private addPeer(peerId: string, node: string): Peer {
    const peer: Peer = { node, ref: this.endpoint.refOn(node), known: false, unanswered: 0 }
    this.peers.set(peerId, peer)
    return peer
  }

  /** A known peer, or one `resolvePeer` places on a node (never this server itself). */
  private peer(id: string): Peer | undefined {
    const known = this.peers.get(id)
    if (known !== undefined || this.resolvePeer === null || id === this.id) return known
    const node = this.resolvePeer(id)
    return node === null ? undefined : this.addPeer(id, node)
  }

  send(message: RaftMessage): void {
    if (this.closed) return
    const peer = this.peer(message.to)
    if (peer === undefined) {
      this.stats.droppedUnknownPeer++
      return
    }
    if (!this.endpoint.reaches(peer.node)) {
      this.stats.droppedUnreachable++
      return
    }
    const bytes = this.codec.encode(message)
    if (bytes.byteLength > this.maxBytes) {
      // The link would refuse it at flush time; refuse it here, counted, where the kind is known.
      this.stats.droppedTooLarge++
      this.fault('too-large', { to: message.to, kind: message.kind, bytes: bytes.byteLength, limit: this.maxBytes })
      return
    }
    const bulk = message.kind === 'append' || message.kind === 'snapshot'
    if (bulk) {
      // A peer that has not answered this much is silent or far behind: Raft probes it again once it
      // speaks. One message always goes after an answer, however large, or a big append would never pass.
      if (peer.unanswered > 0 && peer.unanswered + bytes.byteLength > this.maxUnanswered) {
        this.stats.droppedUnanswered++
        return
      }
      peer.unanswered += bytes.byteLength
    }
    try {
      peer.ref.tell('raft', bytes, this.self)
      this.stats.sent++
    } catch (error) {
      // Full, closed or quarantined link: drop; Raft resends what still matters on its next round.
      this.stats.droppedRefused++
      this.fault('refused', { to: message.to, kind: message.kind, error: (error as Error).message })
    }
  }

  /**
   * RaftNode options that keep every message within one actor message (the system's
   * `maxMessageBytes`, 1 MiB by default): appends and snapshot chunks are cut below it. Pass them to
   * `RaftNode.start`; a single command larger than this cannot be replicated and is the caller's to refuse.
   */
  sizeOptions(): { readonly maxAppendBytes: number; readonly snapshotChunkBytes: number } {
    // Half the room: an append's per-entry framing and a chunk's header stay far inside the rest.
    const bytes = Math.floor(this.maxBytes / 2)
    return { maxAppendBytes: bytes, snapshotChunkBytes: bytes }
  }

  /**
   * Remoting flushes a turn's messages on a microtask and nats.js writes them on another: both have
   * run once the host had its next I/O turn (the scheduler's `poll`). A scheduler without one (the
   * simulator) resolves at once.
   */
  handedOver(): Promise<void> {
    const poll = this.system.scheduler.poll
    if (poll === undefined) return Promise.resolve()
    return new Promise((resolve) => poll.call(this.system.scheduler, resolve))
  }

  onMessage(handler: (message: RaftMessage) => void): void {
    this.handler = handler
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.handler = null
    this.endpoint.close()
    this.system.stop(this.self).catch(() => {})
  }

  private started(self: ActorRef<RaftEndpointProtocol>): void {
    this.self = self
    this.stats.endpointStarts++
  }

  /** Whether this endpoint has learnt `peerId`'s current incarnation (it heard from it). */
  knows(peerId: string): boolean {
    return this.peers.get(peerId)?.known === true
  }

  private receive(bytes: unknown, from: unknown): void {
    if (this.closed) return
    if (!(bytes instanceof Uint8Array)) {
      this.stats.malformed++
      this.fault('malformed', { error: 'the payload is not bytes' })
      return
    }
    let message: RaftMessage
    try {
      message = this.codec.decode(bytes)
    } catch (error) {
      this.stats.malformed++
      const e = error instanceof RaftMalformedMessageError ? error : new RaftMalformedMessageError(String(error))
      this.fault('malformed', { bytes: bytes.byteLength, code: e.code, error: e.message })
      return
    }
    const peer = this.peer(message.from)
    if (message.to !== this.id || peer === undefined || !(from instanceof ActorRef)) {
      this.stats.rejected++
      this.fault('rejected', { from: message.from, to: message.to, kind: message.kind })
      return
    }
    // A node speaks only for the Raft id bound to it: the claimed sender must be the endpoint on that id's node.
    if (!this.endpoint.isEndpointOn(from, peer.node)) {
      this.stats.forged++
      this.fault('forged', { claimed: message.from, boundTo: peer.node, node: from.address.node, path: from.address.path, kind: message.kind })
      return
    }
    if (!peer.known || peer.ref.address.uid !== from.address.uid) {
      peer.ref = from as ActorRef<RaftEndpointProtocol>
      peer.known = true
    }
    peer.unanswered = 0
    this.stats.received++
    this.handler?.(message)
  }

  private fault(reason: string, data: Record<string, unknown>): void {
    this.faults.note(`raft-${reason}`, { reason, ...data }, 'raft message dropped')
  }
}
