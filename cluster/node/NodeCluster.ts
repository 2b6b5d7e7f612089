import type { NatsConnection } from '@nats-io/nats-core'
import { InvalidArgumentError, type ActorSystem, type Logger, type TimerHandle } from '../../runtime/index.ts'
import { HeartbeatMembership, type HeartbeatOptions, type NatsTransport } from '../../transport/nats/index.ts'
import { createCluster, type Cluster } from '../features/index.ts'
import { ClusterNoQuorumError, ClusterQuarantinedError, ClusterStateNode, raftId, type ClusterChange, type ClusterState, type Member } from '../membership/index.ts'
import { createJetStreamClusterState, type JetStreamClusterState } from '../membership/jetstream/index.ts'
import { NatsClusterPeerLink } from '../membership/nats/index.ts'
import { FileRaftStorage } from '../raft/FileRaftStorage.ts'
import { RaftNode } from '../raft/index.ts'
import { RemoteRaftTransport } from '../raft/transport/index.ts'
import { dropPreviousRaft, openClusterIdentity, saveKnownMembers, type ClusterIdentity } from './clusterIdentity.ts'
import { recoverLoneState } from './loneRecovery.ts'
import type { NodeConfig } from './Config.ts'

/** How often a pending join or suspicion report is retried while the cluster has no quorum (ms). */
const RETRY_MS = 500
/** Entries applied between two snapshots of the cluster state (new members catch up from one). */
const SNAPSHOT_EVERY = 1024

export interface NodeClusterHooks {
  /** This incarnation was downed (or told so): the node must stop and exit; it restarts as a new incarnation. */
  readonly quarantined: (error: Error) => void
  /** This member is up (called once). */
  readonly up: (state: ClusterState) => void
  /** The cluster moved this member out (an operator's `troupe cluster leave`): the node stops gracefully. */
  readonly left: () => void
}

/** Either backend behind the ClusterState port (`--cluster-state raft|jetstream`). */
type Backend = ClusterStateNode | JetStreamClusterState

/**
 * A node's membership in the cluster state (docs/cluster-state.md, "Real nodes"): its durable
 * identity, the backend — a RaftNode over RemoteRaftTransport with FileRaftStorage and a
 * ClusterStateNode with the NATS peer link, or the JetStream backend on the node's NATS connection
 * (docs/cluster-state-jetstream.md, "On real nodes") — the join, the failure detector's verdicts turned into `reportSuspicion`, and the
 * cluster's `down` decisions turned into node-down for this node's watchers (once, through the
 * heartbeat membership's `declareDown`, which fails asks and retained frames too).
 *
 * Two steps, as the heartbeat membership needs the incarnation and the verdict hook before the
 * transport starts: `prepare` (before the network), then `start` (once the node link runs).
 */
export class NodeCluster {
  readonly identity: ClusterIdentity
  private readonly config: NodeConfig
  private readonly logger: Logger
  private cs: Backend | null = null
  private cluster: Cluster | null = null
  private raft: RaftNode | null = null
  private membership: HeartbeatMembership | null = null
  private system: ActorSystem | null = null
  private hooks: NodeClusterHooks | null = null
  private watchTimer: TimerHandle | null = null
  private wasUp = false
  private stopped = false
  /** This node asked to leave (its own shutdown): being moved out is then expected. */
  private leaving = false
  /** The latest verdict per member run (`node#incarnation`), so a retried report never overtakes a newer one. */
  private readonly verdicts = new Map<string, boolean>()

  private constructor(config: NodeConfig, logger: Logger, identity: ClusterIdentity) {
    this.config = config
    this.logger = logger
    this.identity = identity
  }

  /** Opens the data dir and takes the next incarnation. Throws ConfigError when the directory is unusable. */
  static prepare(config: NodeConfig, logger: Logger): NodeCluster {
    const identity = openClusterIdentity(config.dataDir, config.cluster, config.name)
    logger.info({ incarnation: identity.incarnation, dir: identity.dir }, 'cluster state: new incarnation')
    return new NodeCluster(config, logger.child({ component: 'cluster' }), identity)
  }

  /** What the heartbeat membership needs: this run's incarnation, and verdicts reported instead of decided. */
  heartbeatOptions(): Pick<HeartbeatOptions, 'incarnation' | 'onVerdict'> {
    return { incarnation: String(this.identity.incarnation), onVerdict: (node, incarnation, suspected) => this.verdict(node, incarnation, suspected) }
  }

  get state(): ClusterState | null {
    return this.cs
  }

  /** This member's cluster features (receptionist, pub-sub, singletons), from `start` on. */
  get features(): Cluster | null {
    return this.cluster
  }

  /** The Raft server's view (for /cluster): role and configuration. */
  raftState(): ReturnType<RaftNode['state']> | null {
    return this.raft?.state() ?? null
  }

  /** Registry keys in the local replica. */
  registryKeys(): number | null {
    // The JetStream backend does not expose its key listing.
    return this.cs instanceof ClusterStateNode ? this.cs.state.keys().length : null
  }

  /** This replica's entry of `node` (members are keyed by node name: the latest incarnation). */
  private member(node: string): Member | undefined {
    return this.cs?.members().find((m) => m.node === node)
  }

  /**
   * Starts the backend on the running node link (JetStream: on `connection`, the link's NATS
   * connection), and joins (retried until applied). The rest — verdicts, downs, leave — is shared.
   */
  async start(system: ActorSystem, transport: NatsTransport, connection: NatsConnection | null, httpAddress: string, appVersion: string, hooks: NodeClusterHooks): Promise<void> {
    this.system = system
    this.hooks = hooks
    const self = { node: this.config.name, incarnation: this.identity.incarnation }
    if (transport.membership instanceof HeartbeatMembership) this.membership = transport.membership
    let cs: Backend
    if (this.config.clusterState === 'jetstream') {
      if (connection === null) throw new InvalidArgumentError('clusterState jetstream needs the node link’s NATS connection')
      // Stream and buckets derive from the cluster name; members need no seeds (everyone reads the stream).
      cs = await createJetStreamClusterState({ nc: connection, self, cluster: this.config.cluster, clock: system.clock, replicas: this.config.jetstreamReplicas, leaseTtlMs: this.config.jetstreamLeaseTtlMs })
      this.logger.info({ incarnation: self.incarnation }, 'cluster state: joining through JetStream')
    } else {
      cs = await this.startRaft(system, transport, self)
    }
    this.cs = cs
    // Features exist before the member is up (reads work; writes retry): the app can hold them from its start.
    this.cluster = createCluster({ system, state: cs, writeTimeoutMs: Math.max(5000, 2 * this.config.raftElectionMs) })
    cs.onChange((change) => this.changed(change))
    this.join(httpAddress, appVersion)
    this.watch()
  }

  private async startRaft(system: ActorSystem, transport: NatsTransport, self: { node: string; incarnation: number }): Promise<ClusterStateNode> {
    const { config, identity } = this
    const id = raftId(self.node, self.incarnation)
    const seeds = this.seeds()
    const bootstrap = seeds.length === 0
    // A lone member restarting carries its state over to the new incarnation's server (loneRecovery.ts).
    if (bootstrap && identity.previousRaftDir !== null) {
      const recovered = await recoverLoneState(identity.previousRaftDir, identity.raftDir, id)
      if (recovered !== null) this.logger.info({ ...recovered, from: identity.previousRaftDir }, 'cluster state: a lone member recovered its previous incarnation’s state')
    }
    dropPreviousRaft(identity)
    const raftTransport = new RemoteRaftTransport({
      system,
      group: 'meta',
      id,
      peers: {},
      link: transport,
      // Servers are member incarnations (`node#n`), added as members join.
      resolvePeer: (peer) => {
        const at = peer.lastIndexOf('#')
        return at > 0 ? peer.slice(0, at) : null
      },
    })
    let cs: ClusterStateNode | null = null
    this.raft = await RaftNode.start({
      id,
      storage: new FileRaftStorage({ dir: identity.raftDir }),
      transport: raftTransport,
      clock: system.clock,
      random: system.random,
      heartbeatMs: config.raftHeartbeatMs,
      electionMs: config.raftElectionMs,
      ...raftTransport.sizeOptions(),
      // The first node of a new cluster is its only voter; every other one waits to be added as a learner.
      ...(bootstrap ? { initialConfig: { voters: [id], learners: [] } } : {}),
      snapshot: () => (cs as ClusterStateNode).snapshot(),
      snapshotEvery: SNAPSHOT_EVERY,
      observer: (e) => {
        if (e.type === 'role') this.logger.info({ role: e.role, term: e.term, leader: e.leaderId }, 'cluster state: raft role')
        else if (e.type === 'failed') this.logger.error({ err: e.error }, 'cluster state: raft failed')
      },
    })
    cs = new ClusterStateNode({ raft: this.raft, clock: system.clock, self, peers: new NatsClusterPeerLink({ system, link: transport }), seeds, writeTimeoutMs: Math.max(2000, 2 * config.raftElectionMs) })
    this.logger.info({ incarnation: self.incarnation, seeds, bootstrap }, bootstrap ? 'cluster state: bootstrapping a new cluster' : 'cluster state: joining through seeds')
    return cs
  }

  /** Configured seeds, else the members this node knew last time; this node itself never counts. */
  private seeds(): string[] {
    const own = this.config.seeds.filter((s) => s !== this.config.name)
    return own.length > 0 ? [...new Set(own)] : [...this.identity.knownMembers]
  }

  private join(httpAddress: string, appVersion: string): void {
    const cs = this.cs
    if (cs === null || this.stopped || cs.quarantined) return
    if (this.member(this.config.name)?.incarnation === this.identity.incarnation) return
    cs.join({ roles: [...this.config.roles], shards: 1, httpAddress, appVersion }).then(
      () => {},
      (error: unknown) => {
        this.logger.debug({ err: error }, 'cluster state: join not applied yet; retrying')
        this.system?.clock.setTimer(RETRY_MS, () => this.join(httpAddress, appVersion))
      },
    )
  }

  /** A verdict of this node's failure detector on a peer run (the heartbeat incarnation is the member's). */
  private verdict(node: string, incarnationText: string, suspected: boolean): void {
    const incarnation = Number(incarnationText)
    if (!Number.isSafeInteger(incarnation) || incarnation <= 0) return
    this.logger.info({ member: node, incarnation, suspected }, suspected ? 'cluster state: reporting a member unreachable' : 'cluster state: member reachable again')
    this.verdicts.set(raftId(node, incarnation), suspected)
    this.report(node, incarnation, suspected)
  }

  /** Reports until applied, while it is still the latest verdict and the member still lives. No quorum: retried. */
  private report(node: string, incarnation: number, suspected: boolean): void {
    const cs = this.cs
    const key = raftId(node, incarnation)
    if (cs === null || this.stopped || cs.quarantined || this.verdicts.get(key) !== suspected) return
    const m = this.member(node)
    if (m === undefined || m.incarnation !== incarnation || m.status === 'down' || m.status === 'removed') {
      this.verdicts.delete(key)
      return
    }
    cs.reportSuspicion(node, incarnation, suspected).then(
      () => {
        if (this.verdicts.get(key) === suspected) this.verdicts.delete(key)
      },
      (error: unknown) => {
        if (error instanceof ClusterNoQuorumError) this.system?.clock.setTimer(RETRY_MS, () => this.report(node, incarnation, suspected))
        else this.logger.warn({ err: error, member: node }, 'cluster state: suspicion report refused')
      },
    )
  }

  private changed(change: ClusterChange | { readonly type: 'reset' }): void {
    const cs = this.cs
    if (cs === null) return
    if (change.type === 'reset') {
      for (const m of cs.members()) this.memberChanged(m, null)
      return
    }
    if (change.type === 'member') this.memberChanged(change.member, change.previous)
  }

  private memberChanged(m: Member, previous: string | null): void {
    const cs = this.cs as Backend
    if (previous !== null) this.logger.info({ member: m.node, incarnation: m.incarnation, status: m.status, previous, epoch: cs.position().epoch }, 'cluster member status')
    saveKnownMembers(this.identity.dir, cs.members().filter((x) => x.status !== 'down' && x.status !== 'removed' && x.node !== this.config.name).map((x) => x.node))
    if (m.node === this.config.name) {
      if (m.incarnation === this.identity.incarnation && m.status === 'up' && !this.wasUp) {
        this.wasUp = true
        this.hooks?.up(cs)
      }
      return
    }
    // The cluster's decision, applied here: watchers of that run's actors get node-down once, asks fail.
    if (m.status === 'down') this.membership?.declareDown(m.node, String(m.incarnation))
  }

  /** Quarantine is also learnt from a probe answer (no applied change then): look on a timer. */
  private watch(): void {
    const clock = this.system?.clock
    if (clock === undefined) return
    this.watchTimer = clock.setTimer(RETRY_MS, () => {
      this.watchTimer = null
      if (this.stopped || this.cs === null) return
      const own = this.member(this.config.name)
      if (!this.leaving && this.wasUp && own?.incarnation === this.identity.incarnation && (own.status === 'exiting' || own.status === 'removed')) {
        this.logger.warn({ status: own.status }, 'cluster state: this member was asked to leave the cluster; the node stops')
        this.hooks?.left()
        return
      }
      if (this.cs.quarantined) {
        const { node, incarnation } = this.cs.self
        this.logger.error({ incarnation }, 'cluster state: this node was downed by the cluster (quarantined); it stops and must restart as a new incarnation')
        this.hooks?.quarantined(new ClusterQuarantinedError(`node ${node} (incarnation ${incarnation}) was downed by the cluster: restart it to rejoin as a new incarnation`, { data: { node, incarnation } }))
        return
      }
      this.watch()
    })
  }

  /** Whether this member is up (readiness). */
  isUp(): boolean {
    const m = this.member(this.config.name)
    return m !== undefined && m.incarnation === this.identity.incarnation && m.status === 'up'
  }

  /**
   * Graceful leave: `leave` committed, then wait (bounded by `deadlineMs`) until the cluster moved this
   * member to exiting or removed — the leader's duties hand Raft leadership over first when this node
   * leads. Gives up quietly at the deadline: peers then down this run through their detectors.
   */
  async leave(deadlineMs: number): Promise<void> {
    const cs = this.cs
    const clock = this.system?.clock
    if (cs === null || clock === undefined || this.stopped || cs.quarantined) return
    const self = this.member(this.config.name)
    if (self === undefined || self.incarnation !== this.identity.incarnation || self.status === 'down' || self.status === 'removed') return
    this.leaving = true
    const until = clock.now() + deadlineMs
    // Singletons here stop first (each manager releases its claim after its instance stopped), so the next holder can start.
    await this.stopFeatures()
    const gone = (): boolean => {
      const m = this.member(this.config.name)
      return m === undefined || m.incarnation !== this.identity.incarnation || m.status === 'exiting' || m.status === 'removed' || m.status === 'down'
    }
    // The write runs beside the wait: its outcome may be slow or lost, and what matters is what the cluster did.
    let askedAt = Infinity
    let pending = false
    while (!gone() && clock.now() < until) {
      if (!pending) {
        pending = true
        askedAt = Math.min(askedAt, clock.now())
        void cs.leave(this.config.name, this.identity.incarnation).then(
          () => undefined,
          () => undefined,
        ).finally(() => (pending = false))
      }
      // Raft: the leader drops this server once it exited, so this node may never apply that: losing the leader after asking says it.
      // (JetStream: this member reads the whole log, so it sees its own exit.)
      if (clock.now() - askedAt > 2 * this.config.raftHeartbeatMs && ((this.raft !== null && this.raft.state().leaderId == null) || cs.quarantined)) break
      await new Promise<void>((resolve) => clock.setTimer(50, resolve))
    }
    const status = this.member(this.config.name)?.status ?? 'unknown'
    if (clock.now() >= until) this.logger.warn({ status, deadlineMs }, 'cluster state: leave not confirmed in time; the other members down this incarnation through their detectors')
    else this.logger.info({ status }, 'cluster state: left')
    // Stop Raft now: the leader drops this server next, and its traffic must end for the node link's leave to go quiet.
    await this.stop()
  }

  private async stopFeatures(): Promise<void> {
    await this.cluster?.stop().catch((error: unknown) => this.logger.warn({ err: error }, 'cluster features: stop failed'))
  }

  /** Stops the cluster state and Raft (a leader hands over first). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.stopFeatures()
    if (this.watchTimer !== null) this.system?.clock.clearTimer(this.watchTimer)
    this.cs?.stop()
    await this.raft?.stop().catch((error: unknown) => this.logger.warn({ err: error }, 'cluster state: raft stop failed'))
  }
}
