import type { Actor, ActorClass, ActorRef, ActorSystem, Logger, MethodName } from '../../runtime/index.ts'
import type { PublishOptions } from '../gateway/Publication.ts'
import type { ShardContext } from '../../transport/index.ts'
import type { Cluster } from '../features/index.ts'

/** What an app gets when its node starts it. */
export interface AppContext {
  readonly system: ActorSystem
  /** Node id (cluster member name). */
  readonly node: string
  readonly logger: Logger
  /** App-specific settings from the `app` section of the config file. */
  readonly settings: Readonly<Record<string, unknown>>
  /**
   * Spawn and lookup across the node's worker shards (`--shards n`), or null when every actor runs
   * on the main thread. Inside an actor, `shardsOf(this.context.system)` gives the same.
   */
  readonly shards: ShardContext | null
  /**
   * This member's cluster features (`--cluster-state raft|jetstream`; docs/cluster-features.md):
   * receptionist, pub-sub, singleton proxies, cluster routers, and the replicated cluster state itself
   * as `cluster.state` (docs/cluster-state.md); null on a node without cluster state. Reads work at
   * once; writes retry for 5 s and then fail with ERR_CLUSTER_NO_QUORUM while this member is not up
   * yet: register names in `onClusterReady`. Inside an actor, `clusterOf(this.context.system)` gives the same.
   */
  readonly cluster: Cluster | null
  /**
   * Makes an actor callable by external clients under a public name (only when NATS is configured),
   * with only the methods listed in `options.methods` (default-deny; optional per-method argument
   * schemas), as `Gateway.publish`. Options are checked at once, NATS or not: a mistake throws
   * ERR_INVALID_ARGUMENT here.
   */
  publish<P, M extends MethodName<P>>(publicName: string, ref: ActorRef<P>, options: PublishOptions<P, M>): void
  /**
   * Adds a check to the node's `/readyz` (e.g. `await clientReadiness(system, pgPool)` from
   * `troupe/actors`): while it answers `ok: false` the node reports not ready with its reason.
   * `ready()` is called on every probe, so it must be synchronous and cheap (read a mirrored state).
   * Returns a function that removes the check.
   */
  addReadinessCheck(check: ReadinessProbe): () => void
}

/** One contribution to `/readyz`: `actors/clients` `clientReadiness` returns one. */
export interface ReadinessProbe {
  readonly name: string
  ready(): { readonly ok: boolean; readonly reason: string | null }
}

/**
 * A cluster singleton the app declares (Akka's ClusterSingletonManager): on every member that runs
 * the app, the node declares it and starts its manager once the member is up; the instance runs on
 * the oldest up member (with `role`, when set), gets a SingletonToken (fencing) as its last
 * constructor argument, and moves when its member leaves or is downed. Reach it from any member with
 * `cluster.singletonProxy(name)`.
 */
export interface AppSingleton {
  readonly actor: ActorClass<Actor<any>, any[]>
  /** Only members with this role host it. */
  readonly role?: string
  /** Constructor arguments before the token. */
  readonly args?: readonly unknown[]
}

/**
 * An app module: the actor classes it brings (by name, so shards and remote nodes can start them)
 * and how to start its supervision tree. A node loads the module's default export.
 */
export interface AppDefinition {
  readonly name: string
  readonly actors: Readonly<Record<string, ActorClass<Actor<any>, any[]>>>
  /** Builds the app's tree; the node is ready once it resolves. */
  start(context: AppContext): void | Promise<void>
  /** Runs before the actor tree is stopped on shutdown (flush, say goodbye); optional. */
  stop?(context: AppContext): void | Promise<void>
  /**
   * Runs in every worker shard of a sharded node once all shards are up, and again in a shard
   * restarted after a crash: start that shard's own top-level actors here. Optional.
   */
  startShard?(context: ShardContext): void | Promise<void>
  /**
   * Cluster mode: the app's singletons by name (names: letters, digits, `.`, `_`, `-`). Declared
   * once this member is up, before `onClusterReady`. Optional.
   */
  readonly singletons?: Readonly<Record<string, AppSingleton>>
  /**
   * Cluster mode: runs once this member is up in the cluster state and the app's singletons are
   * declared (register names, subscribe to topics here). Its failure is logged; the node keeps running. Optional.
   */
  onClusterReady?(cluster: Cluster, context: AppContext): void | Promise<void>
  /** Runs in every worker shard on shutdown, before its actor tree is stopped. Optional. */
  stopShard?(context: ShardContext): void | Promise<void>
}

/** Declares an app module: `export default defineApp({ name, actors, start })`. */
export function defineApp(definition: AppDefinition): AppDefinition {
  return definition
}

export function isAppDefinition(value: unknown): value is AppDefinition {
  if (value === null || typeof value !== 'object') return false
  const app = value as Partial<AppDefinition>
  return typeof app.name === 'string' && typeof app.start === 'function' && typeof app.actors === 'object' && app.actors !== null
}
