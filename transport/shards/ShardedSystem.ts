import { availableParallelism } from 'node:os'
import { isAbsolute, resolve as resolvePath } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { ResourceLimits, Worker } from 'node:worker_threads'
import {
  decodeError,
  InvalidArgumentError,
  ShardDownError,
  topic,
  type Actor,
  type ActorAddress,
  type ActorClass,
  type ActorRef,
  type ActorSystem,
  type Logger,
  type MailboxOptions,
  type ProtocolOf,
  type Terminated,
} from '../../runtime/index.ts'
import { ShardStartError } from './errors.ts'
import { launchShardWorker, resolveLoader, shardWorkerEntry } from './launchShardWorker.ts'
import { PLACEMENTS, type Placement } from './Placement.ts'
import { RingMesh } from './RingMesh.ts'
import { loadShardApp, type ShardAppRegistry } from './ShardApp.ts'
import type { ShardContext, ShardSpawnArgs, ShardSpawnOptions } from './ShardContext.ts'
import type { FrameTransport } from '../FrameTransport.ts'
import { ShardHost, type MainSystemOptions, type ShardPending, type ShardSettings, type ShardStats, type ShardUplink } from './ShardHost.ts'
import { forwardShardLog, levelOf } from './ShardLog.ts'
import type { ShardObserverSpec } from './ShardObserver.ts'
import { SHARD_WORKER_TAG, type MainToShard, type ShardToMain, type ShardWorkerData } from './ShardProtocol.ts'
import { ShardStatus, ShardTable } from './ShardTable.ts'
import { WorkerSlot, type ShardState } from './WorkerSlot.ts'

export type { ShardState } from './WorkerSlot.ts'

export interface ShardRestartPolicy {
  /** Most restarts of one shard within `withinMs`; one more and the shard stays down. Default 5. */
  readonly maxRestarts?: number
  /** Default 60 000 ms. */
  readonly withinMs?: number
}

export interface ShardedSystemOptions {
  /** System name, shared by every shard (addresses carry it). */
  readonly name: string
  /**
   * The app module: a file path (relative to the current directory) or URL whose default export
   * registers the actor classes (see ShardApp). Loaded on the main thread and in every worker.
   */
  readonly app: string | URL
  /** Worker shards, numbered 1..shards (the main thread is shard 0). Default: available parallelism. */
  readonly shards?: number
  /** Node id in addresses. Default `local`. */
  readonly node?: string
  /** Default placement of spawns that name no shard. Default `round-robin`. */
  readonly placement?: Placement
  /** Data bytes of each ring (one per directed pair of threads; rounded up to a power of two). Default 1 MiB. */
  readonly ringBytes?: number
  /** Most bytes waiting for one full ring before sends to it fail with ERR_TRANSPORT_FULL. Default 16 MiB. */
  readonly maxOutboxBytes?: number
  /** Mailbox depth at which a shard stops reading its rings until that actor catches up (see InboundFlow). Default 2048. */
  readonly inboundHighWater?: number
  /** Most envelopes per frame (Remoting batch). Default 1024. */
  readonly maxBatch?: number
  /** Most envelopes Remoting buffers for one shard within one turn. Default 100 000. */
  readonly maxBufferedPerPeer?: number
  /**
   * How long an idle shard keeps polling its rings (once per event-loop turn) before it parks: a
   * reply that comes sooner skips a wake-up that costs tens of µs. 0 parks at once. Default 0.25 ms.
   */
  readonly spinMs?: number
  /**
   * How every shard reaches other nodes (a module each thread loads, e.g. the NATS uplink of
   * `troupe/cluster`). Without it, the shards reach only each other.
   */
  readonly uplink?: ShardUplink
  /** How often each shard stores its actor count for least-loaded placement. Default 100 ms. */
  readonly loadReportMs?: number
  readonly askTimeoutMs?: number
  readonly throughput?: number
  readonly maxMessageBytes?: number
  /** Default mailbox in every shard (plain data). */
  readonly mailbox?: Omit<MailboxOptions, 'priority'>
  /** Restart crashed shards (default: up to 5 times a minute each), or `false` to leave them down. */
  readonly restart?: ShardRestartPolicy | false
  /** Heap limits of each worker (a shard over them dies with ERR_WORKER_OUT_OF_MEMORY and is restarted). */
  readonly resourceLimits?: ResourceLimits
  /**
   * Module loader registered in each worker before it loads anything (`module.register`). Default:
   * tsx when the app module or troupe itself is TypeScript (sources), none otherwise (`dist/` and a
   * JavaScript app). `null` forces none.
   */
  readonly loader?: string | URL | null
  /** Most time for every shard to load the app and start. Default 30 000 ms. */
  readonly startTimeoutMs?: number
  /** Most time for the shards to stop their actors on `terminate()` before their threads are ended. Default 10 000 ms. */
  readonly shutdownTimeoutMs?: number
  /**
   * More options for the main thread's own system (clock, instrumentation, mailbox hooks, logger, …).
   * With a `logger`, every worker shard logs through it too: its records cross to the main thread and
   * are written bound to `{ shard }` (its actors' `context.log` included).
   */
  readonly main?: MainSystemOptions
  /**
   * What every worker shard is observed with: a module each worker loads (metrics, tracing, operator
   * logs; see ShardObserver). The main thread's own system takes its hooks from `main`.
   */
  readonly observer?: ShardObserverSpec
}

/** What the shards still hold (`ShardedSystem.pendingWork`). */
export interface ShardedPending extends ShardPending {
  /** Worker shards that are up but did not answer in time: their work is unknown. */
  readonly missing: readonly number[]
}

/** What happened to a worker shard; published on the main system's event stream. */
export interface ShardEvent {
  readonly shard: number
  /**
   * `down`: the worker died (watchers got shard-down, asks failed); `up`: it (re)started and ran
   * `startShard`; `gave-up`: it died more often than the restart policy allows and stays down;
   * `start-failed`: a restart did not come up (counts as a crash).
   */
  readonly event: 'down' | 'up' | 'gave-up' | 'start-failed'
  readonly restarts: number
  readonly exitCode?: number
  readonly error?: Error
}
export const ShardEventTopic = topic<ShardEvent>('troupe.shards')


export interface ShardedSystemStats {
  readonly shards: readonly (ShardStats & { readonly state: ShardState; readonly restarts: number })[]
  /** Worker shards that did not answer the stats request (down, or busy past the deadline). */
  readonly missing: readonly number[]
}

const DEFAULTS = {
  ringBytes: 1 << 20,
  maxOutboxBytes: 16 * 1024 * 1024,
  inboundHighWater: 2048,
  maxBatch: 1024,
  maxBufferedPerPeer: 100_000,
  loadReportMs: 100,
  maxRestarts: 5,
  restartWithinMs: 60_000,
  startTimeoutMs: 30_000,
  shutdownTimeoutMs: 10_000,
} as const

/**
 * A sharded actor system: N worker threads, each running its own ActorSystem (shard 1..N) on its own
 * event loop, plus the main thread's system (shard 0), all joined through Remoting over
 * SharedArrayBuffer rings. Create it with `ShardedSystem.create({ name, shards, app })` — the runtime
 * layer cannot start threads, so this lives in the transport layer instead of `ActorSystem.create`.
 *
 * - Spawn anywhere: `spawn(Class | 'Name', { shard | placement, name, args })` → a ref that works
 *   the same from every shard (tell/ask/watch), by reference within its own shard.
 * - Shards that crash are detected, their actors' watchers get `shard-down`, asks to them fail with
 *   ERR_SHARD_DOWN, and the shard is restarted on fresh rings and runs the app's `startShard` again.
 * - `stats()` snapshots every shard's rings, outboxes, pump and Remoting counters.
 * - `terminate()` stops every shard's actor tree (children first) and ends the threads.
 */
export class ShardedSystem {
  static async create(options: ShardedSystemOptions): Promise<ShardedSystem> {
    const workers = options.shards ?? availableParallelism()
    if (!Number.isInteger(workers) || workers < 1) throw new InvalidArgumentError(`shards must be an integer >= 1, got ${workers}`)
    const placement = options.placement ?? 'round-robin'
    if (!PLACEMENTS.includes(placement)) throw new InvalidArgumentError(`unknown placement '${String(placement)}': use ${PLACEMENTS.join(', ')}`)
    const appUrl = appModuleUrl(options.app)
    const entry = shardWorkerEntry()
    const loader = resolveLoader(entry, appUrl, options.loader)
    const registry = await loadShardApp(appUrl)
    const settings: ShardSettings = {
      name: options.name,
      node: options.node ?? 'local',
      workers,
      placement,
      ...(options.askTimeoutMs === undefined ? {} : { askTimeoutMs: options.askTimeoutMs }),
      ...(options.throughput === undefined ? {} : { throughput: options.throughput }),
      ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
      ...(options.mailbox === undefined ? {} : { mailbox: options.mailbox }),
      maxOutboxBytes: options.maxOutboxBytes ?? DEFAULTS.maxOutboxBytes,
      inboundHighWater: options.inboundHighWater ?? DEFAULTS.inboundHighWater,
      maxBatch: options.maxBatch ?? DEFAULTS.maxBatch,
      maxBufferedPerPeer: options.maxBufferedPerPeer ?? DEFAULTS.maxBufferedPerPeer,
      loadReportMs: options.loadReportMs ?? DEFAULTS.loadReportMs,
      ...(options.spinMs === undefined ? {} : { spinMs: options.spinMs }),
      ...(options.uplink === undefined ? {} : { uplink: options.uplink }),
      ...(options.main?.logger === undefined ? {} : { logLevel: levelOf(options.main.logger) }),
      ...(options.observer === undefined ? {} : { observer: options.observer }),
    }
    const sharded = new ShardedSystem(options, settings, registry, appUrl, entry, loader)
    await sharded.start()
    return sharded
  }

  /** The main thread's actor system (shard 0). */
  readonly system: ActorSystem
  /** Spawn, lookup and watch across shards from the main thread (same as `shardsOf(system)`). */
  readonly context: ShardContext
  /** Worker shards (numbered 1..workers). */
  readonly workers: number
  private readonly options: ShardedSystemOptions
  private readonly settings: ShardSettings
  private readonly registry: ShardAppRegistry
  private readonly appUrl: string
  private readonly entry: URL
  private readonly loader: string | null
  private readonly mesh: RingMesh
  private readonly table: ShardTable
  private readonly host: ShardHost
  private readonly slots: WorkerSlot[]
  /** Restarts run one at a time, so ring renewals never interleave. */
  private lifecycle: Promise<void> = Promise.resolve()
  private stopping = false
  private terminating: Promise<void> | null = null
  private readonly logger: Logger | null

  private constructor(options: ShardedSystemOptions, settings: ShardSettings, registry: ShardAppRegistry, appUrl: string, entry: URL, loader: string | null) {
    this.options = options
    this.settings = settings
    this.registry = registry
    this.appUrl = appUrl
    this.entry = entry
    this.loader = loader
    this.workers = settings.workers
    this.mesh = new RingMesh(settings.workers + 1, options.ringBytes ?? DEFAULTS.ringBytes)
    this.table = ShardTable.create(settings.workers + 1)
    this.host = new ShardHost({
      settings,
      shard: 0,
      links: this.mesh.linksOf(0),
      table: this.table.buffer,
      registry,
      ...(options.main === undefined ? {} : { main: options.main }),
    })
    this.table.setStatus(0, ShardStatus.Up)
    this.logger = options.main?.logger ?? null
    this.system = this.host.system
    this.context = this.host.context
    this.slots = Array.from({ length: settings.workers + 1 }, (_, shard) => new WorkerSlot(shard, this.system.clock))
  }

  // ------------------------------------------------------------------ API

  /** Spawns on the shard the options pick (see ShardContext.spawn). */
  spawn<C extends ActorClass<Actor<any>, any[]>>(actorClass: C, ...options: ShardSpawnArgs<C>): Promise<ActorRef<ProtocolOf<InstanceType<C>>>>
  spawn<P = unknown>(className: string, options?: ShardSpawnOptions): Promise<ActorRef<P>>
  spawn(actorClass: ActorClass<Actor<any>, any[]> | string, options?: ShardSpawnOptions): Promise<ActorRef<any>> {
    return this.context.spawn(actorClass as string, options)
  }

  lookup<P = unknown>(name: string, shard: number): Promise<ActorRef<P> | undefined> {
    return this.context.lookup<P>(name, shard)
  }

  /** Resolves when `ref` stops, wherever it lives (shard-down when its shard crashes). */
  watch(ref: ActorRef<any>): Promise<Terminated> {
    return this.context.watch(ref)
  }

  /** State of a worker shard (shard 0, the main thread, is `up` until terminate). */
  state(shard: number): ShardState {
    if (shard === 0) return this.stopping ? 'stopped' : 'up'
    const slot = this.slots[shard]
    if (slot === undefined) throw new InvalidArgumentError(`no shard ${shard}: shards are 0..${this.workers}`)
    return slot.state
  }

  /** Times a worker shard was restarted after a crash. */
  restarts(shard: number): number {
    return this.slots[shard]?.restarts ?? 0
  }

  /**
   * Counters of every shard (ring occupancy, frames and bytes, outboxes, pump parks/wakes/pauses,
   * Remoting batches, dead letters, actor counts) for an observability layer to scrape. Worker
   * shards answer over the control channel; one that does not within 2 s is listed in `missing`.
   */
  async stats(): Promise<ShardedSystemStats> {
    const main = { ...this.host.stats(), state: this.state(0), restarts: 0 }
    const workers = await Promise.all(
      this.slots.slice(1).map(async (slot) => {
        const message = await slot.request('stats')
        return message?.type === 'stats' ? { ...message.stats, state: slot.state, restarts: slot.restarts } : null
      }),
    )
    const shards = [main]
    const missing: number[] = []
    workers.forEach((stats, index) => {
      if (stats === null) missing.push(index + 1)
      else shards.push(stats)
    })
    return { shards, missing }
  }

  /** The main thread's link to other nodes (its uplink), once connected; null without an uplink. */
  get uplink(): FrameTransport | null {
    return this.host.uplink
  }

  /**
   * The node is shutting down: every shard's uplink tells other nodes to route no new work here
   * (FrameTransport.announceLeaving); what is in flight still arrives and is handled.
   */
  announceLeaving(): void {
    this.host.announceLeaving()
    for (const slot of this.slots) if (slot.shard !== 0 && slot.state === 'up') slot.post({ type: 'leaving' })
  }

  /**
   * Work every shard still holds: queued messages, running handlers and frames in the rings (summed),
   * and frames received so far (summed; unchanged over a while means nothing arrives). Shards that
   * are down hold nothing any more; an up worker that does not answer within 2 s is in `missing`.
   */
  async pendingWork(): Promise<ShardedPending> {
    const main = this.host.pendingWork()
    let pending = main.pending
    let framesIn = main.framesIn
    const missing: number[] = []
    const replies = await Promise.all(this.slots.slice(1).map((slot) => slot.request('pending')))
    replies.forEach((message, index) => {
      const slot = this.slots[index + 1] as WorkerSlot
      if (message?.type === 'pending') {
        pending += message.work.pending
        framesIn += message.work.framesIn
      } else if (slot.state === 'up') missing.push(slot.shard)
    })
    return { pending, framesIn, missing }
  }

  /** Every up worker shard's metrics from its observer (plain data), for a scrape; null entries for none. */
  async workerMetrics(): Promise<{ readonly shard: number; readonly data: unknown }[]> {
    const replies = await Promise.all(this.slots.slice(1).map((slot) => slot.request('metrics')))
    const out: { shard: number; data: unknown }[] = []
    replies.forEach((message, index) => {
      if (message?.type === 'metrics' && message.data !== null) out.push({ shard: index + 1, data: message.data })
    })
    return out
  }

  /**
   * Asks every up worker shard's observer an introspection request (plain data); a shard that is down
   * or does not answer within 2 s is listed with `data: null`, so the caller can show it as down.
   */
  async workerIntrospect(request: unknown): Promise<{ readonly shard: number; readonly data: unknown }[]> {
    const replies = await Promise.all(this.slots.slice(1).map((slot) => slot.request('introspect', request)))
    return replies.map((message, index) => ({ shard: index + 1, data: message?.type === 'introspect' ? message.data : null }))
  }

  /**
   * Stops every shard: each worker runs the app's `stopShard`, stops its actor tree children first,
   * closes its transport and is ended then, whatever timers it left (by force after
   * `shutdownTimeoutMs` if its actors cannot stop); the main system stops too. Idempotent.
   */
  terminate(): Promise<void> {
    if (this.terminating === null) this.terminating = this.shutdown()
    return this.terminating
  }

  // ------------------------------------------------------------------ start

  private async start(): Promise<void> {
    try {
      await this.host.attachUplink()
      await Promise.all(this.slots.slice(1).map((slot) => this.launch(slot, this.options.startTimeoutMs ?? DEFAULTS.startTimeoutMs)))
      const agents = this.agents()
      for (const slot of this.slots.slice(1)) this.context.setAgent(slot.shard, slot.agent)
      await Promise.all(this.slots.slice(1).map((slot) => this.startApp(slot, agents)))
    } catch (error) {
      await this.terminate()
      throw error
    }
  }

  /** Starts a worker on the mesh's current rings and waits for its `ready`. */
  private async launch(slot: WorkerSlot, timeoutMs: number): Promise<void> {
    slot.state = 'starting'
    slot.lastError = null
    const data: ShardWorkerData = {
      tag: SHARD_WORKER_TAG,
      settings: this.settings,
      shard: slot.shard,
      app: this.appUrl,
      links: this.mesh.linksOf(slot.shard),
      table: this.table.buffer,
      down: this.slots.filter((other) => other.shard !== 0 && other.shard !== slot.shard && other.state === 'down').map((other) => other.shard),
    }
    const worker = launchShardWorker({
      entry: this.entry,
      loader: this.loader,
      workerData: data,
      ...(this.options.resourceLimits === undefined ? {} : { resourceLimits: this.options.resourceLimits }),
    })
    slot.worker = worker
    worker.on('message', (message: ShardToMain) => this.onMessage(slot, worker, message))
    worker.on('error', (error: Error) => {
      if (slot.worker === worker) slot.lastError = error
    })
    worker.on('exit', (code: number) => this.onExit(slot, worker, code))
    const ready = await slot.awaitMessage('ready', timeoutMs)
    if (ready.type !== 'ready') throw new ShardStartError(`shard ${slot.shard} did not start`)
    slot.agent = ready.agent
    slot.state = 'up'
    this.table.setStatus(slot.shard, ShardStatus.Up)
  }

  private async startApp(slot: WorkerSlot, agents: (ActorAddress | null)[]): Promise<void> {
    const started = slot.awaitMessage('started', this.options.startTimeoutMs ?? DEFAULTS.startTimeoutMs)
    slot.post({ type: 'start', agents })
    await started
  }

  private agents(): (ActorAddress | null)[] {
    return this.slots.map((slot) => (slot.shard === 0 ? this.host.agent.address : slot.state === 'up' ? slot.agent : null))
  }

  // ------------------------------------------------------------------ worker messages and exits

  private onMessage(slot: WorkerSlot, worker: Worker, message: ShardToMain): void {
    if (message.type === 'log') {
      // A dying worker's last words count too, even once its slot has moved on.
      if (this.logger !== null) forwardShardLog(this.logger, slot.shard, message.record)
      return
    }
    if (slot.worker !== worker) return
    if (message.type === 'failed') {
      const error = decodeError(message.error)
      if (message.stack !== undefined) error.stack = message.stack
      slot.lastError = error
      slot.rejectWaiters(new ShardStartError(`shard ${slot.shard} failed to start: ${error.message}`, { cause: error }))
      return
    }
    slot.deliver(message)
  }

  private onExit(slot: WorkerSlot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return
    slot.worker = null
    const wasUp = slot.state === 'up'
    const error = slot.lastError ?? new ShardDownError(`shard ${slot.shard} exited with code ${code}`, { data: { shard: slot.shard, exitCode: code } })
    slot.rejectWaiters(new ShardStartError(`shard ${slot.shard} exited with code ${code}`, { cause: error, data: { exitCode: code } }))
    if (this.stopping) {
      slot.state = 'stopped'
      return
    }
    slot.state = 'down'
    slot.agent = null
    this.table.setStatus(slot.shard, ShardStatus.Down)
    if (!wasUp) return
    // Everyone hears at once: watchers get shard-down, asks fail fast, sends become dead letters.
    this.context.setAgent(slot.shard, null)
    this.host.transport.peerDown(slot.shard)
    for (const other of this.slots) if (other.shard !== 0 && other !== slot) other.post({ type: 'peer-down', shard: slot.shard })
    // Other nodes cannot see a thread die (this node keeps beating): tell them through the uplink.
    this.host.routes.localShardDown(slot.shard)
    this.system.publish(ShardEventTopic, { shard: slot.shard, event: 'down', restarts: slot.restarts, exitCode: code, error })
    if (slot.restarting) return
    slot.restarting = true
    this.lifecycle = this.lifecycle
      .then(() => this.restart(slot))
      .catch((error: unknown) => {
        // Nothing in a restart should throw past its own handling; if it does, the shard stays down, said out loud.
        const reason = error instanceof Error ? error : new ShardStartError(String(error))
        this.system.publish(ShardEventTopic, { shard: slot.shard, event: 'gave-up', restarts: slot.restarts, error: reason })
      })
      .finally(() => {
        slot.restarting = false
      })
  }

  private async restart(slot: WorkerSlot): Promise<void> {
    const policy = this.options.restart
    for (;;) {
      if (this.stopping) return
      const now = this.system.clock.now()
      const withinMs = (policy === false ? undefined : policy?.withinMs) ?? DEFAULTS.restartWithinMs
      while (slot.restartTimes.length > 0 && now - (slot.restartTimes[0] as number) > withinMs) slot.restartTimes.shift()
      const maxRestarts = (policy === false ? 0 : policy?.maxRestarts) ?? DEFAULTS.maxRestarts
      if (policy === false || slot.restartTimes.length >= maxRestarts) {
        this.system.publish(ShardEventTopic, { shard: slot.shard, event: 'gave-up', restarts: slot.restarts })
        return
      }
      slot.restartTimes.push(now)
      slot.restarts++
      this.mesh.renew(slot.shard)
      try {
        await this.launch(slot, this.options.startTimeoutMs ?? DEFAULTS.startTimeoutMs)
        // terminate() began meanwhile and did not see this worker: stop it here.
        if (this.stopping) {
          await this.stopWorker(slot)
          return
        }
        const agent = slot.agent as ActorAddress
        this.host.transport.peerUp(this.mesh.peerLinks(0, slot.shard))
        // Other nodes may send to it again from now: its startShard may already need their replies.
        this.host.routes.localShardUp(slot.shard)
        this.context.setAgent(slot.shard, agent)
        for (const other of this.slots) {
          if (other.shard === 0 || other === slot) continue
          other.post({ type: 'peer-up', shard: slot.shard, links: this.mesh.peerLinks(other.shard, slot.shard), agent })
        }
        await this.startApp(slot, this.agents())
        this.system.publish(ShardEventTopic, { shard: slot.shard, event: 'up', restarts: slot.restarts })
        return
      } catch (thrown) {
        const error = thrown instanceof Error ? thrown : new ShardStartError(String(thrown))
        this.system.publish(ShardEventTopic, { shard: slot.shard, event: 'start-failed', restarts: slot.restarts, error })
        // A worker still running after a failed start is ended; its exit is not another crash.
        const worker = slot.worker
        slot.worker = null
        if (worker !== null) await worker.terminate()
        if (slot.state === 'up') {
          // It had come up before failing: tell the others it is gone again.
          slot.state = 'down'
          this.table.setStatus(slot.shard, ShardStatus.Down)
          this.context.setAgent(slot.shard, null)
          this.host.transport.peerDown(slot.shard)
          for (const other of this.slots) if (other.shard !== 0 && other !== slot) other.post({ type: 'peer-down', shard: slot.shard })
          this.host.routes.localShardDown(slot.shard)
        }
        slot.state = 'down'
      }
    }
  }

  // ------------------------------------------------------------------ shutdown

  private async shutdown(): Promise<void> {
    this.stopping = true
    const exits = this.slots.slice(1).map((slot) => this.stopWorker(slot))
    // A restart under way stops the worker it launches once it sees `stopping`.
    await Promise.all([...exits, this.system.terminate(), this.lifecycle])
    await this.host.close()
    for (const slot of this.slots) slot.state = 'stopped'
  }

  /**
   * Asks the worker to stop and ends its thread as soon as it says its actors have stopped and its
   * transport is closed (`stopped`): a timer, interval or socket the app left behind would otherwise
   * keep the thread, and the shutdown, waiting. Ended by force at `shutdownTimeoutMs` regardless.
   */
  private async stopWorker(slot: WorkerSlot): Promise<void> {
    const worker = slot.worker
    if (worker === null) return
    const exited = new Promise<'exited'>((resolve) => worker.once('exit', () => resolve('exited')))
    const stopped = slot.awaitMessage('stopped', this.options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs).then(
      () => 'stopped' as const,
      () => 'late' as const,
    )
    worker.postMessage({ type: 'stop' } satisfies MainToShard)
    if ((await Promise.race([exited, stopped])) !== 'exited') await worker.terminate()
  }
}

function appModuleUrl(app: string | URL): string {
  if (app instanceof URL) return app.href
  if (/^[a-z][a-z0-9+.-]*:/i.test(app) && !/^[a-z]:[\\/]/i.test(app)) return app
  return pathToFileURL(isAbsolute(app) ? app : resolvePath(process.cwd(), app)).href
}
