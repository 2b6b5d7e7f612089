import { ActorRef, DeadLetterTopic, EnvelopeKind, type ActorSystem, type DeadLetter, type Subscription } from '../../../runtime/index.ts'

/**
 * Reachability as the node link sees it (NatsTransport fits): which nodes are up now, so that frames
 * for a node that is down or absent are dropped at the call instead of queued on the link.
 */
export interface EndpointLinkView {
  members(): readonly string[]
  onPeerUp(handler: (node: string) => void): void
  onPeerDown(handler: (node: string, shard: number | null) => void): void
}

export interface PathEndpointOptions {
  readonly system: ActorSystem
  /** The endpoint actor's path on every node (`/user/<name>`). */
  readonly path: string
  /** The one method peers tell the endpoint (its protocol's only entry). */
  readonly method: string
  /** The node link's view. Without it every node counts as reachable (the link's own bounds then apply). */
  readonly link?: EndpointLinkView
  /** Counts the letters claimed; the owner's stats object fits. */
  readonly stats: { claimed: number }
  /** Where claimed tells go: the same checks as those that reached the endpoint actor. */
  readonly receive: (payload: unknown, from: unknown) => void
}

/**
 * The part shared by endpoints that one actor per node at a well-known path serves over Remoting
 * (RemoteRaftTransport, NatsClusterPeerLink). An actor address carries its incarnation uid, which a
 * peer cannot know before it has heard from this endpoint, so first contact is addressed by path
 * (uid 0) and lands in dead letters here; this claims such tells when their path is the endpoint's
 * (Akka's ActorSelection, without a runtime change). The `from` ref of each message then teaches
 * the current uid, and a restarted endpoint is reached again the same way.
 *
 * Whatever is claimed is hostile like any frame: it goes through the owner's `receive`, and a
 * sender counts as the endpoint on a node only if its ref is that node's endpoint (`isEndpointOn`).
 */
export class PathEndpoint {
  readonly path: string
  private readonly system: ActorSystem
  private readonly method: string
  private readonly reachable: Set<string> | null
  private readonly claim: Subscription
  private readonly stats: { claimed: number }
  private readonly receive: (payload: unknown, from: unknown) => void

  constructor(options: PathEndpointOptions) {
    const { system, link } = options
    this.system = system
    this.path = options.path
    this.method = options.method
    this.stats = options.stats
    this.receive = options.receive
    if (link === undefined) {
      this.reachable = null
    } else {
      const reachable = new Set(link.members())
      this.reachable = reachable
      link.onPeerUp((node) => reachable.add(node))
      // A shard going down is not the node: endpoints live on the main thread (shard 0).
      link.onPeerDown((node, shard) => {
        if (shard === null || shard === 0) reachable.delete(node)
      })
    }
    this.claim = system.subscribe(DeadLetterTopic, (letter) => this.claimLetter(letter))
  }

  /** Whether the node link reports `node` up (always true without a link view). */
  reaches(node: string): boolean {
    return this.reachable === null || this.reachable.has(node)
  }

  /** The endpoint on `node` addressed by path (uid 0): what first contact is sent to. */
  refOn<P>(node: string): ActorRef<P> {
    return this.system.refFor<P>({ system: this.system.name, node, shard: 0, path: this.path, uid: 0 })
  }

  /**
   * Whether `from` is this endpoint's actor on `node` (same system, node and path; any incarnation).
   * A node speaks only for itself: a message that claims a sender on another node fails this.
   */
  isEndpointOn(from: unknown, node: string): boolean {
    if (!(from instanceof ActorRef)) return false
    const a = from.address
    return a.node === node && a.path === this.path && a.system === this.system.name
  }

  /** Stops claiming; dead letters for the path are then left alone. */
  close(): void {
    this.claim.unsubscribe()
  }

  /** A tell to this endpoint's path that missed its incarnation (first contact, or sent to our previous life). */
  private claimLetter(letter: DeadLetter): void {
    const e = letter.envelope
    if (letter.reason !== 'unknown' || e.kind !== EnvelopeKind.Tell || e.method !== this.method) return
    const target = e.target.address
    if (target.path !== this.path || target.node !== this.system.node || target.shard !== this.system.shard) return
    this.stats.claimed++
    this.receive(e.args[0], e.args[1])
  }
}
