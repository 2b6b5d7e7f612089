import {
  ActorSystem,
  ShardDownError,
  silentLogger,
  type ActorAddress,
  type ActorRef,
  type ActorSystemOptions,
  type Logger,
  type MailboxOptions,
  type TimerHandle,
} from '../../runtime/index.ts'
import type { FrameTransport } from '../FrameTransport.ts'
import { Remoting, type RemotingStats } from '../Remoting.ts'
import { RoutedTransport } from '../RoutedTransport.ts'
import { InboundFlow } from './InboundFlow.ts'
import type { Placement } from './Placement.ts'
import type { ThreadLinks } from './RingMesh.ts'
import { RingTransport, type RingPeerStats, type RingTransportStats } from './RingTransport.ts'
import { SHARD_AGENT_NAME, ShardAgent } from './ShardAgent.ts'
import type { ShardAppRegistry } from './ShardApp.ts'
import { ShardContext } from './ShardContext.ts'
import type { ShardLogLevel } from './ShardLog.ts'
import type { ShardObserver, ShardObserverSpec } from './ShardObserver.ts'
import { ShardTable } from './ShardTable.ts'
import { ShardStartError } from './errors.ts'

/**
 * How every shard of a node reaches other nodes: a module loaded in each thread (a connection
 * cannot cross threads; a module URL and plain options can) whose default export connects that
 * shard's system, e.g. `troupe/cluster`'s NATS uplink. Each shard then has its own link, so a
 * frame from shard 2 to another node goes straight out, not through the main thread.
 */
export interface ShardUplink {
  /** Module URL (what `import()` takes) whose default export is a ShardUplinkModule. */
  readonly module: string
  /** Plain data for `connect` (servers, cluster name, heartbeat settings, …). */
  readonly options: Readonly<Record<string, unknown>>
}

export interface ShardUplinkModule {
  /** Connects one shard's system to other nodes; the transport addresses that shard. */
  connect(system: ActorSystem, options: Readonly<Record<string, unknown>>): Promise<FrameTransport>
}

/** Settings every shard of a sharded system shares: plain data, sent to each worker at start. */
export interface ShardSettings {
  readonly name: string
  readonly node: string
  /** Worker shards (1..workers); shard 0 is the main thread. */
  readonly workers: number
  readonly placement: Placement
  readonly askTimeoutMs?: number
  readonly throughput?: number
  readonly maxMessageBytes?: number
  /** Default mailbox of every shard's actors (plain data: no `priority` function). */
  readonly mailbox?: Omit<MailboxOptions, 'priority'>
  readonly maxOutboxBytes: number
  readonly inboundHighWater: number
  readonly maxBatch: number
  readonly maxBufferedPerPeer: number
  readonly loadReportMs: number
  readonly spinMs?: number
  readonly uplink?: ShardUplink
  /** Set when the main thread has a logger: workers send it their records at this level and above. */
  readonly logLevel?: ShardLogLevel
  /** What every worker shard is observed with (metrics, tracing, operator logs). */
  readonly observer?: ShardObserverSpec
}

/** Work a shard still holds, for a drain before shutdown (`ShardedSystem.pendingWork`). */
export interface ShardPending {
  /** Queued user messages and running handlers, plus frames not yet handed over through the rings. */
  readonly pending: number
  /** Frames received so far (rings and other nodes): unchanged over a while means nothing is arriving. */
  readonly framesIn: number
}

/** Counters of one shard, for metrics scrapes (`ShardedSystem.stats()`). */
export interface ShardStats {
  readonly shard: number
  readonly actorCount: number
  readonly deadLetters: number
  readonly remoting: RemotingStats
  readonly transport: RingTransportStats
  /** Per peer shard: the outbound ring (producer side, occupancy included), the inbound ring (consumer side), the outbox. */
  readonly peers: readonly RingPeerStats[]
}

/** Extra options for the main thread's system (functions and objects that cannot go to a worker). */
export type MainSystemOptions = Omit<ActorSystemOptions, 'name' | 'node' | 'shard' | 'askTimeoutMs' | 'throughput' | 'maxMessageBytes' | 'mailbox' | 'scheduler'>

/**
 * One shard's actor system joined to the others: its RingTransport, Remoting over it, its
 * ShardContext and its agent. The same on the main thread (shard 0) and in every worker.
 */
export class ShardHost {
  readonly system: ActorSystem
  readonly transport: RingTransport
  /** The rings for this node's shards, and (once attached) the uplink for other nodes. */
  readonly routes: RoutedTransport
  readonly remoting: Remoting
  readonly context: ShardContext
  readonly agent: ActorRef<any>
  readonly table: ShardTable
  private loadTimer: TimerHandle | null = null
  private readonly loadReportMs: number
  private readonly uplinkSpec: ShardUplink | null
  private readonly observer: ShardObserver | null
  private closed = false

  constructor(options: {
    settings: ShardSettings
    shard: number
    links: ThreadLinks
    table: SharedArrayBuffer
    registry: ShardAppRegistry
    /** Shards that are down right now (a worker started while another is being restarted). */
    down?: readonly number[]
    main?: MainSystemOptions
    /** A worker's logger (records go to the main thread's logger); the main thread's is `main.logger`. */
    logger?: Logger
    /** A worker's observer (loaded from `settings.observer`). */
    observer?: ShardObserver
  }) {
    const settings = options.settings
    const shard = options.shard
    const observer = options.observer ?? null
    const flow = new InboundFlow(settings.inboundHighWater, observer?.mailboxHooks ?? options.main?.mailboxHooks)
    const systemOptions: { -readonly [K in keyof ActorSystemOptions]: ActorSystemOptions[K] } = {
      ...options.main,
      name: settings.name,
      node: settings.node,
      shard,
      shardCount: settings.workers + 1,
      mailboxHooks: flow.hooks,
    }
    if (options.logger !== undefined) {
      const logger = options.logger
      systemOptions.logger = logger
      systemOptions.onInternalError = (error: unknown, where: string) => logger.error({ err: error, where }, 'internal error')
    }
    if (observer?.instrumentation !== undefined) systemOptions.instrumentation = observer.instrumentation
    if (settings.askTimeoutMs !== undefined) systemOptions.askTimeoutMs = settings.askTimeoutMs
    if (settings.throughput !== undefined) systemOptions.throughput = settings.throughput
    if (settings.maxMessageBytes !== undefined) systemOptions.maxMessageBytes = settings.maxMessageBytes
    if (settings.mailbox !== undefined) systemOptions.mailbox = settings.mailbox
    const system = ActorSystem.create(systemOptions)
    this.system = system
    this.observer = observer
    flow.awaitingReplies = () => system.remoteAsksInFlight > 0
    this.table = ShardTable.attach(options.table, settings.workers + 1)
    this.transport = new RingTransport({
      local: { system: settings.name, node: settings.node, shard },
      links: options.links,
      scheduler: system.scheduler,
      clock: system.clock,
      flow,
      maxOutboxBytes: settings.maxOutboxBytes,
      ...(settings.spinMs === undefined ? {} : { spinMs: settings.spinMs }),
    })
    this.routes = new RoutedTransport(this.transport)
    this.uplinkSpec = settings.uplink ?? null
    this.remoting = new Remoting(system, this.routes, { maxBatch: settings.maxBatch, maxBufferedPerPeer: settings.maxBufferedPerPeer })
    if (observer?.attach !== undefined) observer.attach(system, options.logger ?? silentLogger, this.remoting.stats)
    // Frames held for a shard that died: their envelopes become dead letters (asks among them were
    // already failed by remoteDown).
    this.transport.onDropped = (frame, deadShard) => {
      let envelopes
      try {
        envelopes = system.codec.decodeBatch(frame)
      } catch {
        return
      }
      const error = new ShardDownError(`shard ${deadShard} of ${settings.node} is down`, { data: { node: settings.node, shard: deadShard } })
      for (const envelope of envelopes) system.deadLetter(envelope, 'undeliverable', error)
    }
    for (const downShard of options.down ?? []) this.transport.peerDown(downShard)
    this.context = new ShardContext({
      system,
      shard,
      workers: settings.workers,
      registry: options.registry,
      table: this.table,
      placement: settings.placement,
    })
    this.agent = system.spawn(ShardAgent, { name: SHARD_AGENT_NAME, args: [options.registry, () => this.reportLoad()] })
    this.context.setAgent(shard, this.agent.address)
    this.loadReportMs = settings.loadReportMs
    this.reportLoad()
  }

  get shard(): number {
    return this.system.shard
  }

  /** Points this shard's context at the other shards' agents (null for a shard that is down). */
  setAgents(agents: readonly (ActorAddress | null)[]): void {
    agents.forEach((address, shard) => {
      if (shard !== this.shard) this.context.setAgent(shard, address)
    })
  }

  /** This shard's link to other nodes, once attached (null without an uplink). */
  get uplink(): FrameTransport | null {
    return this.routes.otherNodesTransport
  }

  /** This node is shutting down: tell other nodes to route no new work to this shard. */
  announceLeaving(): void {
    this.routes.announceLeaving()
  }

  /** What this shard still holds (see ShardPending). Walks the actor tree: for drains, not hot paths. */
  pendingWork(): ShardPending {
    return { pending: this.system.pendingWork + this.transport.pendingFrames(), framesIn: this.remoting.stats.framesIn }
  }

  /** This shard's metrics from its observer (plain data), or null without one. */
  metrics(): Promise<unknown> {
    return this.observer?.metrics?.() ?? Promise.resolve(null)
  }

  /** The observer's answer to an introspection request, or null without one. */
  introspect(request: unknown): unknown {
    return this.observer?.introspect?.(request) ?? null
  }

  stats(): ShardStats {
    const { transport, peers } = this.transport.stats()
    return {
      shard: this.shard,
      actorCount: Math.max(0, this.system.actorCount - 1),
      deadLetters: this.system.deadLetters.count,
      remoting: { ...this.remoting.stats },
      transport,
      peers,
    }
  }

  /**
   * Connects this shard to other nodes through the settings' uplink module (nothing to do without
   * one). Fails with ERR_SHARD_START when the module does not load or cannot connect.
   */
  async attachUplink(): Promise<void> {
    const spec = this.uplinkSpec
    if (spec === null || this.routes.hasOtherNodes) return
    let uplink: FrameTransport
    try {
      const module = (await import(spec.module)) as { default?: Partial<ShardUplinkModule> }
      const connect = module.default?.connect
      if (typeof connect !== 'function') throw new Error(`${spec.module} has no default export with connect(system, options)`)
      uplink = await connect.call(module.default, this.system, spec.options)
    } catch (error) {
      throw new ShardStartError(`shard ${this.shard} could not connect to other nodes: ${(error as Error).message}`, { cause: error, data: { shard: this.shard } })
    }
    try {
      if (this.closed) throw new ShardStartError(`shard ${this.shard} closed while it connected to other nodes`, { data: { shard: this.shard } })
      this.routes.attachOtherNodes(uplink)
      this.observer?.linked?.(uplink)
    } catch (error) {
      await uplink.close()
      throw error
    }
  }

  /** Stops the load reports, the rings and the uplink (after the system has terminated). */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.loadTimer !== null) this.system.clock.clearTimer(this.loadTimer)
    this.loadTimer = null
    await this.routes.close()
  }

  /** Stores this shard's live actor count (its agent excluded) for least-loaded placement, and re-arms. */
  private reportLoad(): void {
    if (this.closed) return
    this.table.setLoad(this.shard, Math.max(0, this.system.actorCount - 1))
    if (this.loadTimer !== null) this.system.clock.clearTimer(this.loadTimer)
    this.loadTimer = this.system.clock.setTimer(this.loadReportMs, () => {
      this.loadTimer = null
      this.reportLoad()
    })
  }
}
