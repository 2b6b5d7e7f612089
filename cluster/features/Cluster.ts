import { InvalidArgumentError, type Actor, type ActorRef, type ActorSystem, type MethodArgs, type MethodName, type MethodReply, type ProtocolOf, type SpawnOptionsBase } from '../../runtime/index.ts'
import { spawnGroup, type RouterRef, type RoutingLogic } from '../../supervision/index.ts'
import type { ClusterState } from '../membership/index.ts'
import { ClusterRoutees } from './ClusterRoutees.ts'
import type { FeatureContext } from './FeatureContext.ts'
import { PubSub } from './PubSub.ts'
import { PubSubMediator, type PubSubTable } from './PubSubMediator.ts'
import { Receptionist } from './Receptionist.ts'
import { checkName, type ServiceKey } from './ServiceKey.ts'
import { SingletonManager, type SingletonStatus, type SingletonToken } from './SingletonManager.ts'
import { SingletonProxy, type SingletonProxyOptions, type SingletonProxyProtocol } from './SingletonProxy.ts'
import { ClusterInvalidKeyError } from './errors.ts'
import { writeWithRetry } from './Writes.ts'

export interface ClusterOptions {
  readonly system: ActorSystem
  /** This member's view of the cluster state (Raft's ClusterStateNode, or the JetStream KV backend). */
  readonly state: ClusterState
  /** How long user-facing writes retry through elections before ERR_CLUSTER_NO_QUORUM. Default 5000 ms. */
  readonly writeTimeoutMs?: number
}

export interface SingletonOptions<Args extends unknown[]> {
  /** Only members with this role host it. */
  readonly role?: string
  /** Constructor arguments; the SingletonToken (fencing) is appended as the last one. */
  readonly args?: Args
}

/** A singleton as seen from one member: its manager here, what it runs here, and proxies to wherever it runs. */
export interface SingletonHandle<P> {
  readonly name: string
  readonly status: Readonly<SingletonStatus>
  readonly manager: ActorRef<unknown>
  proxy(options?: SingletonProxyOptions): SingletonProxyRef<P>
}

/** A ref-like handle on a singleton proxy: `tell` and `ask` reach the current instance, wherever it runs. */
export class SingletonProxyRef<P> {
  readonly actor: ActorRef<SingletonProxyProtocol>
  private readonly askTimeoutMs: number

  /** @internal */
  constructor(actor: ActorRef<SingletonProxyProtocol>, askTimeoutMs: number) {
    this.actor = actor
    this.askTimeoutMs = askTimeoutMs
  }

  tell<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): void {
    this.actor.tell('send', method, args as unknown[])
  }

  ask<K extends MethodName<P>>(method: K, ...args: MethodArgs<P, K>): Promise<MethodReply<P, K>> {
    return this.actor.askWith({ timeoutMs: this.askTimeoutMs }, 'request', method, args as unknown[]).then((r) => {
      if (!r.ok) throw r.error
      return r.value as MethodReply<P, K>
    })
  }
}

/** The cluster features of each system (at most one per system: the mediator's name is fixed). */
const bySystem = new WeakMap<ActorSystem, Cluster>()

const SINGLETON_NAME = /^[A-Za-z0-9._-]{1,200}$/

/**
 * The actor-facing cluster features of one member, over the ClusterState port: receptionist,
 * singletons with proxies, distributed pub-sub and cluster-aware routers. See docs/cluster-features.md.
 */
export class Cluster {
  readonly system: ActorSystem
  readonly state: ClusterState
  readonly receptionist: Receptionist
  readonly pubsub: PubSub
  /** Registry refs that did not parse (refused and skipped). */
  malformedRefs = 0
  private readonly f: FeatureContext
  private stopped = false
  private readonly actors: ActorRef<any>[] = []
  private readonly sources: ClusterRoutees<any>[] = []
  private readonly singletons = new Map<string, SingletonHandle<any>>()

  constructor(options: ClusterOptions) {
    this.system = options.system
    this.state = options.state
    this.f = {
      system: options.system,
      state: options.state,
      clock: options.system.clock,
      writeTimeoutMs: options.writeTimeoutMs ?? 5000,
      isStopped: () => this.stopped,
      malformed: () => this.malformedRefs++,
    }
    this.receptionist = new Receptionist(this.f)
    const table: PubSubTable = { byTopic: new Map() }
    const mediator = options.system.spawn(PubSubMediator, { name: 'troupe-pubsub', args: [this.f, this.receptionist, table] })
    this.actors.push(mediator)
    this.pubsub = new PubSub(this.f, table, mediator)
  }

  register<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    return this.receptionist.register(key, ref)
  }
  registerUnique<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    return this.receptionist.registerUnique(key, ref)
  }
  unregister<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    return this.receptionist.unregister(key, ref)
  }
  lookup<P>(key: ServiceKey<P>): Promise<ActorRef<P>[]> {
    return this.receptionist.lookup(key)
  }
  lookupCached<P>(key: ServiceKey<P>): ActorRef<P>[] {
    return this.receptionist.lookupCached(key)
  }
  subscribe<P>(key: ServiceKey<P>, listener: (refs: readonly ActorRef<P>[]) => void): () => void {
    return this.receptionist.subscribe(key, listener)
  }

  /**
   * Declares the singleton `name` (idempotent, cluster-wide) and starts this member's manager for
   * it. Call it on every member that may host it. The instance gets a SingletonToken as its last
   * constructor argument.
   */
  async singleton<A extends Actor<any>, Args extends unknown[]>(name: string, actorClass: new (...args: [...Args, SingletonToken]) => A, options: SingletonOptions<Args> = {}): Promise<SingletonHandle<ProtocolOf<A>>> {
    if (!SINGLETON_NAME.test(name)) throw new ClusterInvalidKeyError(`singleton name '${name}' must match ${String(SINGLETON_NAME)}`)
    checkName(name, 'singleton name')
    const existing = this.singletons.get(name)
    if (existing !== undefined) return existing as SingletonHandle<ProtocolOf<A>>
    await writeWithRetry(this.f.clock, this.f.writeTimeoutMs, () => this.stopped, () => this.state.declareSingleton(name, options.role ?? null))
    const status: SingletonStatus = { name, running: false, token: null, starts: 0 }
    const spec = { name, actorClass: actorClass as never, args: options.args ?? [], features: this.f, receptionist: this.receptionist, status }
    const manager = this.system.spawn(SingletonManager, { name: `troupe-singleton-${name}`, args: [spec], reentrant: true })
    this.actors.push(manager)
    const handle: SingletonHandle<ProtocolOf<A>> = { name, status, manager, proxy: (o) => this.singletonProxy<ProtocolOf<A>>(name, o) }
    this.singletons.set(name, handle)
    return handle
  }

  /** What this member's manager of singleton `name` runs (undefined when it was not declared here). */
  singletonStatus(name: string): Readonly<SingletonStatus> | undefined {
    return this.singletons.get(name)?.status
  }

  /** What this member's managers run, one entry per singleton declared here (for `/cluster`). */
  localSingletons(): Readonly<SingletonStatus>[] {
    return [...this.singletons.values()].map((h) => ({ ...h.status }))
  }

  /** A proxy to the singleton `name` from this member (it need not host it). */
  singletonProxy<P>(name: string, options: SingletonProxyOptions = {}): SingletonProxyRef<P> {
    if (!SINGLETON_NAME.test(name)) throw new ClusterInvalidKeyError(`singleton name '${name}' must match ${String(SINGLETON_NAME)}`)
    const actor = this.system.spawn(SingletonProxy, { args: [this.f, name, options], reentrant: true })
    this.actors.push(actor)
    return new SingletonProxyRef<P>(actor, (options.bufferTimeoutMs ?? 10_000) + (options.routeTimeoutMs ?? 5000) + 1000)
  }

  /** A RouteeSource following the receptionist's listing of `key` (for spawnGroup or your own router). */
  routees<P>(key: ServiceKey<P>): ClusterRoutees<P> {
    const source = new ClusterRoutees(this.receptionist, key)
    this.sources.push(source)
    return source
  }

  /** A group router over every actor registered under `key` in the cluster, updated as the listing changes. */
  router<P>(key: ServiceKey<P>, logic: RoutingLogic, spawnOptions: Omit<SpawnOptionsBase, 'reentrant'> = {}): RouterRef<P> {
    const ref = spawnGroup<P>(this.system, { routees: this.routees(key), logic }, spawnOptions)
    this.actors.push(ref.control)
    return ref
  }

  /** Stops this member's managers (their instances stop and release), proxies, mediator and router sources. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return
    if (bySystem.get(this.system) === this) bySystem.delete(this.system)
    this.pubsub.close()
    this.receptionist.close()
    for (const s of this.sources) s.close()
    const stops = this.actors.map((a) => this.system.stop(a))
    this.stopped = true
    await Promise.all(stops)
  }
}

/** Creates a member's cluster features; `clusterOf(system)` returns them until `cluster.stop()`. */
export function createCluster(options: ClusterOptions): Cluster {
  const cluster = new Cluster(options)
  bySystem.set(options.system, cluster)
  return cluster
}

/**
 * The cluster features of the member `system` belongs to (Akka's `Cluster(system)`): inside an
 * actor, `clusterOf(this.context.system)`. On a cluster node they exist from the start of the app
 * (writes succeed once the member is up). Throws ERR_INVALID_ARGUMENT for a system without them.
 */
export function clusterOf(system: ActorSystem): Cluster {
  const cluster = bySystem.get(system)
  if (cluster === undefined) throw new InvalidArgumentError(`actor system '${system.name}' on node ${system.node} has no cluster features (start the node with --cluster-state raft|jetstream)`)
  return cluster
}
