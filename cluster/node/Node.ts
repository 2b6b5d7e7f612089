import { Registry } from 'prom-client'
import { ActorSystem, combineInstrumentation, InvalidArgumentError, SystemFailureTopic } from '../../runtime/index.ts'
import { ShardedSystem, ShardEventTopic } from '../../transport/index.ts'
import { logShardEvent } from './shardLog.ts'
import { NatsTransport, natsUplink } from '../../transport/nats/index.ts'
import type { ClusterState } from '../membership/index.ts'
import type { Cluster } from '../features/index.ts'
import { NodeCluster } from './NodeCluster.ts'
import { startClusterApp } from './clusterReady.ts'
import { ClusterRoutes } from './ClusterRoutes.ts'
import { attachLinkLog, attachOperatorLog, type LinkEvents } from '../observability/OperatorLog.ts'
import { scrapeShards, shardObserver } from '../observability/shardObserver.ts'
import { createTracing } from '../observability/Tracing.ts'
import { TroupeMetrics } from '../observability/Metrics.ts'
import { ClusterMetrics } from '../observability/ClusterMetrics.ts'
import { compilePublication, type PublishOptions } from '../gateway/Publication.ts'
import type { AppContext, AppDefinition, ReadinessProbe } from './App.ts'
import { natsUplinkOptions, parseHostPort, type NodeConfig } from './Config.ts'
import { clusterDashboardRoutes, startNatsInspect } from './nodeInspection.ts'
import type { NatsInspectResponder } from './NatsInspectResponder.ts'

export { natsServers } from './Config.ts'
import { HttpServer } from './HttpServer.ts'
import { ActorActivity } from '../introspection/ActorActivity.ts'
import { SystemIntrospector } from '../introspection/SystemIntrospector.ts'
import { IntrospectionRoutes } from './dashboard/IntrospectionRoutes.ts'
import { NodeIntrospection } from './Introspection.ts'
import { troupeVersion } from './version.ts'
import { runFailureShutdown, runNodeShutdown, type ShutdownTargets } from './NodeShutdown.ts'
import type { Logger } from '../../runtime/index.ts'

export type { NetworkExtras, NetworkFactory, NodeNetwork, NodeOptions, NodeOutcome } from './NodeTypes.ts'
import type { NodeNetwork, NodeOptions, NodeOutcome } from './NodeTypes.ts'

/**
 * A running node: an actor system with the app's tree, its HTTP endpoint, metrics and tracing,
 * operator logs (crash reports, supervisor decisions, dead letters, shard and peer events), and
 * (when configured) its NATS network. `stop()` runs the coordinated shutdown (NodeShutdown.ts):
 * announce leaving, stop intake, drain every shard, leave, stop the actor trees children-first,
 * close — each phase within its timeout, all within the deadline.
 */
export class TroupeNode {
  /** The main thread's system (shard 0 of a sharded node). */
  readonly system: ActorSystem
  /** The node's worker shards, when `config.shards > 0`. */
  readonly sharded: ShardedSystem | null
  readonly config: NodeConfig
  readonly metrics: TroupeMetrics
  readonly registry: Registry
  /** The node's actor trees, mailboxes, restarts and dead letters, pulled on request (the dashboard's and `troupe tree`'s source). */
  readonly introspection: NodeIntrospection
  /** Bound HTTP port, when the endpoint is enabled. */
  httpPort: number | null = null
  private readonly app: AppDefinition
  private readonly logger: Logger
  private network: NodeNetwork | null = null
  /** Cluster state membership (`clusterState: raft|jetstream`), else null. */
  private cluster: NodeCluster | null = null
  /** The cluster's gauges on the node's registry (`clusterState: raft|jetstream`), else null. */
  private clusterMetrics: ClusterMetrics | null = null
  private http: HttpServer | null = null
  /** Answers introspection over NATS (`inspect` not off, with NATS), else null. */
  private natsInspect: NatsInspectResponder | null = null
  private started = false
  private readonly readinessChecks = new Set<ReadinessProbe>()
  private stopping: Promise<NodeOutcome> | null = null
  private terminatingActors: Promise<void> | null = null
  private closingEdges: Promise<void> | null = null
  private resolveOutcome!: (outcome: NodeOutcome) => void
  /** Settles when the node has ended: stopped cleanly, failed (top supervisor gave up), or hit its deadline. */
  readonly outcome: Promise<NodeOutcome>

  private constructor(options: NodeOptions, registry: Registry, metrics: TroupeMetrics, activity: ActorActivity, system: ActorSystem, sharded: ShardedSystem | null) {
    this.config = options.config
    this.app = options.app
    this.logger = options.logger
    this.registry = registry
    this.metrics = metrics
    this.outcome = new Promise((resolve) => {
      this.resolveOutcome = resolve
    })
    this.system = system
    this.sharded = sharded
    activity.attach(system)
    const startedAt = system.clock.now()
    this.introspection = new NodeIntrospection(
      {
        node: this.config.name,
        cluster: this.config.cluster,
        app: this.app.name,
        version: troupeVersion(),
        startedAt,
        now: () => system.clock.now(),
        started: () => this.started,
        ready: () => this.readiness(),
      },
      new SystemIntrospector(system, activity),
      sharded,
    )
    this.metrics.observe(this.system)
    attachOperatorLog(this.system, this.logger)
    if (sharded !== null) {
      this.metrics.observeShards(sharded)
      this.system.subscribe(ShardEventTopic, (event) => logShardEvent(this.logger, event))
      // Node up/down and this link's state, once for the node: from the main thread's link.
      if (sharded.uplink !== null) attachLinkLog(sharded.uplink as LinkEvents, this.logger, { peers: true })
    }
    this.system.subscribe(SystemFailureTopic, (failure) => {
      this.logger.error({ err: failure.error, path: failure.path }, 'the top of the actor tree failed; the node stops')
    })
    void this.system.whenTerminated.then(() => {
      if (this.system.failure !== null && this.stopping === null) void this.fail(this.system.failure)
    })
  }

  /** Starts a node: system, HTTP endpoint, network, then the app. Rejects if the app fails to start. */
  static async start(options: NodeOptions): Promise<TroupeNode> {
    const { config, logger } = options
    const registry = options.registry ?? new Registry()
    // The node owns its registry's process and Node.js metrics (event-loop lag first among them).
    const metrics = new TroupeMetrics({ registry, defaultMetrics: options.registry === undefined || options.defaultMetrics === true })
    // Introspection's view of the main thread: metrics' hooks as they are until someone watches.
    const activity = new ActorActivity(metrics.mailboxHooks)
    const mainOptions = {
      instrumentation: combineInstrumentation([createTracing({ sampleRatio: config.traceSampleRatio }), metrics.instrumentation]),
      mailboxHooks: activity.hooks,
      logger,
      onInternalError: (error: unknown, where: string) => logger.error({ err: error, where }, 'internal error'),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    }
    let node: TroupeNode
    if (config.shards > 0) {
      if (options.appUrl === undefined) throw new InvalidArgumentError('a node with worker shards needs the app module URL (NodeOptions.appUrl)')
      const sharded = await ShardedSystem.create({
        name: config.cluster,
        node: config.name,
        shards: config.shards,
        app: options.appUrl,
        main: mainOptions,
        // Worker shards get the node's logger (bound to their shard), metrics, tracing and operator logs.
        observer: shardObserver({ sampleRatio: config.traceSampleRatio }),
        // A worker whose actors cannot stop within the stop-actors phase is ended then.
        shutdownTimeoutMs: config.shutdownActorsMs,
        ...(config.nats === '' ? {} : { uplink: natsUplink(natsUplinkOptions(config)) }),
      })
      logger.info({ shards: config.shards }, 'worker shards started')
      node = new TroupeNode(options, registry, metrics, activity, sharded.system, sharded)
    } else {
      node = new TroupeNode(options, registry, metrics, activity, ActorSystem.create({ name: config.cluster, node: config.name, ...mainOptions }), null)
    }
    await node.boot(options)
    return node
  }

  /** The replicated cluster state this node is a member of (`--cluster-state raft|jetstream`), or null. */
  get clusterState(): ClusterState | null {
    return this.cluster?.state ?? null
  }

  /** This member's cluster features (receptionist, pub-sub, singletons; `--cluster-state raft|jetstream`), or null. */
  get clusterFeatures(): Cluster | null {
    return this.cluster?.features ?? null
  }

  /** Endpoint, network, then the app; whatever fails, what was started is stopped before the error propagates. */
  private async boot(options: NodeOptions): Promise<void> {
    try {
      if (this.config.clusterState !== 'off') {
        this.cluster = NodeCluster.prepare(this.config, this.logger)
        this.clusterMetrics = new ClusterMetrics(this.registry)
        this.clusterMetrics.observe({ backend: this.config.clusterState, state: () => this.cluster?.state ?? null, raft: () => this.cluster?.raftState() ?? null })
      }
      await this.startEdges(options)
      await this.app.start(this.appContext())
    } catch (error) {
      await this.closeEdges()
      await this.terminateActors()
      this.metrics.close()
      throw error
    }
    this.started = true
    this.logger.info({ app: this.app.name, http: this.httpPort }, 'node started')
  }

  private async startEdges(options: NodeOptions): Promise<void> {
    const { config } = this
    if (config.http !== '') {
      const { host, port } = parseHostPort(config.http) as { host: string; port: number }
      this.http = new HttpServer(
        {
          alive: () => !this.system.isTerminated,
          ready: () => this.readiness(),
          started: () => this.started,
        },
        this.registry,
        () => this.exposition(),
        [clusterDashboardRoutes(config, this.introspection, () => this.clusterState, () => this.network?.inspectConnection ?? null, () => this.clusterMetrics?.suspects() ?? new Set()), new IntrospectionRoutes(this.introspection, { dashboard: config.dashboard, inspect: config.inspect }, this.system.clock), new ClusterRoutes(() => this.cluster, config)],
      )
      this.httpPort = await this.http.listen(host, port)
    }
    if (config.nats !== '') {
      if (options.network === undefined) throw new InvalidArgumentError('config.nats is set but no network factory was given')
      this.network = await options.network(this.system, config, this.metrics, this.logger, this.sharded !== null, this.cluster === null ? {} : { heartbeat: this.clusterMetrics?.tapHeartbeat(this.cluster.heartbeatOptions()) ?? this.cluster.heartbeatOptions() })
    }
    const inspectConnection = this.network?.inspectConnection ?? null
    if (config.inspect !== 'off' && inspectConnection != null) this.natsInspect = startNatsInspect(config, inspectConnection, this.introspection, () => this.exposition(), this.logger)
    if (this.cluster !== null) {
      const link = this.network?.link
      if (link == null) throw new InvalidArgumentError(`clusterState ${config.clusterState} needs the node link over NATS (a network with \`link\`)`)
      await this.cluster.start(this.system, link, this.network?.connection ?? null, this.httpPort === null ? '' : `http://${config.http.replace(/:\d+$/, '')}:${this.httpPort}`, this.app.name, {
        up: (state) => {
          this.logger.info({ incarnation: state.self.incarnation }, 'cluster member up')
          void this.clusterReady()
        },
        left: () => void this.stop(),
        quarantined: (error) => {
          if (this.stopping === null) void this.fail(error)
        },
      })
    }
  }

  /** The member is up: the app's singletons, then its `onClusterReady` (clusterReady.ts). */
  private async clusterReady(): Promise<void> {
    const features = this.clusterFeatures
    if (features !== null) await startClusterApp(features, this.app, () => this.appContext(), this.logger, () => this.stopping !== null)
  }

  readiness(): { ok: boolean; reasons: string[] } {
    const reasons: string[] = []
    if (!this.started) reasons.push('app not started')
    if (this.stopping !== null) reasons.push('shutting down')
    if (this.network !== null && !this.network.connected()) reasons.push('NATS not connected')
    if (this.cluster !== null && !this.cluster.isUp()) reasons.push('not an up member of the cluster yet')
    for (const check of this.readinessChecks) {
      let answer: { readonly ok: boolean; readonly reason: string | null }
      try {
        answer = check.ready()
      } catch (error) {
        // A broken check must not break the probe: it reports not ready with the cause.
        answer = { ok: false, reason: `${check.name}: ${error instanceof Error ? error.message : String(error)}` }
      }
      if (!answer.ok) reasons.push(answer.reason ?? `${check.name} not ready`)
    }
    return { ok: reasons.length === 0, reasons }
  }

  /** The /metrics text: the node's registry, and a sharded node's workers' merged in. */
  private exposition(): Promise<string> {
    const sharded = this.sharded
    return sharded === null ? this.registry.metrics() : scrapeShards(this.registry, () => sharded.workerMetrics())
  }

  /** Graceful shutdown within `config.shutdownTimeoutMs`. Idempotent. */
  stop(): Promise<NodeOutcome> {
    if (this.stopping !== null) return this.stopping
    this.stopping = this.shutdown()
    return this.stopping
  }

  private async shutdown(): Promise<NodeOutcome> {
    this.logger.info({ timeoutMs: this.config.shutdownTimeoutMs }, 'shutting down')
    const report = await runNodeShutdown(this.shutdownTargets())
    const outcome: NodeOutcome = report.clean
      ? this.system.failure !== null
        ? { kind: 'failed', error: this.system.failure }
        : { kind: 'stopped' }
      : { kind: 'deadline', incomplete: report.incomplete }
    this.logger.info({ outcome: outcome.kind, ...(report.clean ? {} : { incomplete: report.incomplete, forced: report.forced }) }, 'node stopped')
    this.metrics.close()
    this.resolveOutcome(outcome)
    return outcome
  }

  private async fail(error: Error): Promise<void> {
    this.stopping = (async () => {
      // Bounded like a shutdown, and the node still says goodbye: a failed node must not linger in peers' views.
      await runFailureShutdown(this.shutdownTargets())
      const outcome: NodeOutcome = { kind: 'failed', error }
      this.metrics.close()
      this.resolveOutcome(outcome)
      return outcome
    })()
    await this.stopping
  }

  private shutdownTargets(): ShutdownTargets {
    const sharded = this.sharded
    return {
      clock: this.system.clock,
      logger: this.logger.child({ component: 'shutdown' }),
      config: this.config,
      announceLeaving: () => {
        if (sharded !== null) sharded.announceLeaving()
        this.network?.announceLeaving?.()
      },
      stopIntake: async () => {
        if (this.network !== null) await this.network.stopIntake()
        if (this.app.stop !== undefined) await this.app.stop(this.appContext())
      },
      pendingWork: async () => {
        if (sharded === null) return { pending: this.system.pendingWork, framesIn: this.network?.framesIn?.() ?? 0 }
        const work = await sharded.pendingWork()
        // A worker that does not answer may still hold work.
        return { pending: work.pending + work.missing.length, framesIn: work.framesIn }
      },
      ...(this.cluster === null ? {} : { clusterLeave: () => (this.cluster as NodeCluster).leave(this.config.shutdownLeaveMs + 2 * this.config.raftElectionMs) }),
      leave: async () => {
        const link = sharded?.uplink ?? null
        // A sharded node's heartbeats (and so its `leave`) come from its main thread's link.
        if (link instanceof NatsTransport) await link.membership.stop()
        await this.network?.leave?.()
      },
      stopActors: () => this.terminateActors(),
      close: async () => {
        await this.closeEdges()
      },
    }
  }

  /** Stops every actor tree: the worker shards' and the main thread's (children first in each). */
  private terminateActors(): Promise<void> {
    this.terminatingActors ??= this.sharded !== null ? this.sharded.terminate() : this.system.terminate()
    return this.terminatingActors
  }

  /** Network and HTTP endpoint; idempotent (a forced close after a timed-out one waits for the same). */
  private closeEdges(): Promise<void> {
    this.closingEdges ??= (async () => {
      await this.cluster?.stop()
      this.natsInspect?.close()
      this.natsInspect = null
      const network = this.network
      if (network !== null) await network.close().catch((error: unknown) => this.logger.warn({ err: error }, 'network close failed'))
      this.network = null
      const http = this.http
      this.http = null
      if (http !== null) await http.close()
    })()
    return this.closingEdges
  }

  private appContext(): AppContext {
    return {
      system: this.system,
      node: this.config.name,
      shards: this.sharded === null ? null : this.sharded.context,
      logger: this.logger.child({ app: this.app.name }),
      settings: this.config.settings,
      cluster: this.clusterFeatures,
      publish: (publicName, ref, options) => {
        // Checked here too, so a standalone node refuses the same mistakes a networked one does.
        compilePublication(options)
        if (this.network === null) {
          this.logger.debug({ publicName }, 'standalone node: publish has no effect without NATS')
          return
        }
        this.network.publish(publicName, ref, options as PublishOptions)
      },
      addReadinessCheck: (check) => {
        this.readinessChecks.add(check)
        return () => this.readinessChecks.delete(check)
      },
    }
  }
}
