import { RateLimitedLog, type ActorRef, type ActorSystem } from '../../../runtime/index.ts'
import { PathEndpoint, type EndpointLinkView } from '../../raft/transport/index.ts'
import { decodePeerMessage, type ClusterPeerLink } from '../ClusterPeerLink.ts'
import { ClusterMalformedCommandError } from '../errors.ts'
import { splitRaftId } from '../policies.ts'
import { ClusterPeerEndpoint, type ClusterPeerProtocol } from './ClusterPeerEndpoint.ts'

/** Reachability as the node link sees it (NatsTransport fits): frames for a node that is down are dropped at the call. */
export type PeerLinkView = EndpointLinkView

export interface NatsClusterPeerLinkOptions {
  readonly system: ActorSystem
  /** Endpoint name: one per node (`/user/<name>`). Default `cluster-state`. */
  readonly name?: string
  /** The node link's reachability view. Without it every node counts as reachable. */
  readonly link?: PeerLinkView
}

export interface NatsClusterPeerLinkStats {
  sent: number
  received: number
  /** Inbound payloads that are not bytes or fail the peer-message codec: dropped. */
  malformed: number
  /** Valid messages whose claimed `from` is not the node that sent them (forged or misrouted): dropped. */
  rejected: number
  /** Outbound frames for a node the link reports down or absent, or refused by the link: dropped (the sender's write times out with ERR_CLUSTER_NO_QUORUM and is retried). */
  dropped: number
  /** Frames addressed to a former incarnation of this endpoint (first contact, restarts), claimed by path. */
  claimed: number
}

/**
 * The `ClusterPeerLink` between node processes: frames travel as actor messages to each node's
 * endpoint actor over Remoting (NATS between nodes), like RemoteRaftTransport's Raft messages.
 * Addresses are Raft ids (`node#incarnation`) or, for seeds whose incarnation is not known yet,
 * plain node names: either way the frame goes to that node's endpoint. First contact is addressed by
 * path (uid 0) and claimed from dead letters (PathEndpoint); the sender's ref teaches the current uid.
 *
 * Inbound bytes are hostile: each is decoded before it is passed on, and its claimed `from` must name
 * the node the sending endpoint lives on, so a member cannot speak for another. Faults are counted,
 * logged (rate-limited) and dropped, never thrown. Delivery is at most once: a lost forward or
 * outcome makes the writer's call time out with ERR_CLUSTER_NO_QUORUM (every command is idempotent).
 */
export class NatsClusterPeerLink implements ClusterPeerLink {
  readonly stats: NatsClusterPeerLinkStats = { sent: 0, received: 0, malformed: 0, rejected: 0, dropped: 0, claimed: 0 }
  private readonly system: ActorSystem
  private readonly endpoint: PathEndpoint
  private readonly self: ActorRef<ClusterPeerProtocol>
  /** Each peer node's endpoint: path-only until it spoke, then its current incarnation. */
  private readonly refs = new Map<string, ActorRef<ClusterPeerProtocol>>()
  private readonly faults: RateLimitedLog
  private handler: ((frame: Uint8Array) => void) | null = null
  private closed = false

  constructor(options: NatsClusterPeerLinkOptions) {
    const { system } = options
    this.system = system
    const name = options.name ?? 'cluster-state'
    this.faults = new RateLimitedLog(system.clock, system.log)
    const receive = (bytes: unknown, from: unknown): void => this.receive(bytes, from)
    this.endpoint = new PathEndpoint({ system, path: `/user/${name}`, method: 'peer', stats: this.stats, receive, ...(options.link === undefined ? {} : { link: options.link }) })
    this.self = system.spawn(ClusterPeerEndpoint, { name, args: [receive] })
  }

  send(to: string, frame: Uint8Array): void {
    if (this.closed) return
    const node = splitRaftId(to)[0] ?? to
    if (node === this.system.node) {
      // A seed list may name this node: through its own endpoint, checked like any frame.
      this.self.tell('peer', frame, this.self)
      this.stats.sent++
      return
    }
    if (!this.endpoint.reaches(node)) {
      this.stats.dropped++
      return
    }
    let ref = this.refs.get(node)
    if (ref === undefined) {
      ref = this.endpoint.refOn<ClusterPeerProtocol>(node)
      this.refs.set(node, ref)
    }
    try {
      ref.tell('peer', frame, this.self)
      this.stats.sent++
    } catch (error) {
      this.stats.dropped++
      this.fault('refused', { to, error: (error as Error).message })
    }
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.handler = handler
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    this.handler = null
    this.endpoint.close()
    this.system.stop(this.self).catch(() => {})
  }

  private receive(bytes: unknown, from: unknown): void {
    if (this.closed) return
    if (!(bytes instanceof Uint8Array)) {
      this.stats.malformed++
      this.fault('malformed', { error: 'the payload is not bytes' })
      return
    }
    let claimed: string
    try {
      claimed = decodePeerMessage(bytes).from
    } catch (error) {
      if (!(error instanceof ClusterMalformedCommandError)) throw error
      this.stats.malformed++
      this.fault('malformed', { bytes: bytes.byteLength, error: error.message })
      return
    }
    const node = splitRaftId(claimed)[0] ?? claimed
    if (!this.endpoint.isEndpointOn(from, node)) {
      this.stats.rejected++
      this.fault('rejected', { from: claimed })
      return
    }
    const sender = from as ActorRef<ClusterPeerProtocol>
    const known = this.refs.get(node)
    if (known === undefined || known.address.uid !== sender.address.uid) this.refs.set(node, sender)
    this.stats.received++
    this.handler?.(bytes)
  }

  private fault(reason: string, data: Record<string, unknown>): void {
    this.faults.note(`cluster-peer-${reason}`, { reason, ...data }, 'cluster peer frame dropped')
  }
}
