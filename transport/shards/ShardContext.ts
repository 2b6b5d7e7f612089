import {
  Actor,
  ExitReasons,
  InvalidArgumentError,
  ShardDownError,
  type ActorAddress,
  type ActorClass,
  type ActorRef,
  type ActorSystem,
  type ProtocolOf,
  type SpawnOptionsBase,
  type Terminated,
} from '../../runtime/index.ts'
import { UnknownActorClassError } from './errors.ts'
import { placeShard, type Placement } from './Placement.ts'
import type { RemoteSpawnOptions, ShardAgentProtocol } from './ShardAgent.ts'
import type { ShardAppRegistry } from './ShardApp.ts'
import type { ShardTable } from './ShardTable.ts'

/** Where a sharded spawn goes: a shard by number, or a placement strategy. */
export interface PlacementOptions {
  /** Shard number: 0 is the main thread, 1..N the workers. Overrides `placement`. */
  readonly shard?: number
  /** Strategy when `shard` is not given. Default: the sharded system's `placement` option (round-robin). */
  readonly placement?: Placement
  /** Key for `hash` placement. Default: the actor's `name`. */
  readonly key?: string
}

/** Spawn options of a sharded spawn by class name: the usual ones (plain data when they cross a thread) plus placement. */
export type ShardSpawnOptions = SpawnOptionsBase & PlacementOptions & { readonly args?: unknown[] }

/**
 * Options argument of `spawn(Class, ...)`: `args` typed against the constructor, and required
 * exactly when the constructor has a required parameter.
 */
export type ShardSpawnArgs<C> = C extends new (...args: infer Args) => any
  ? [] extends Args
    ? [options?: SpawnOptionsBase & PlacementOptions & { readonly args?: Args }]
    : [options: SpawnOptionsBase & PlacementOptions & { readonly args: Args }]
  : never

const contexts = new WeakMap<ActorSystem, ShardContext>()

/**
 * The sharded system as seen from one thread (the main thread or a worker shard): spawn on any shard
 * by class or registered name, look names up on other shards, watch from plain code. Get it with
 * `shardsOf(system)` (inside an actor: `shardsOf(this.context.system)`); `ShardApp.startShard` is
 * given it.
 *
 * Refs are transparent: a ref returned from another shard's spawn is used like any ref (tell, ask,
 * watch, send it in messages); same-shard refs keep their by-reference fast path.
 */
export class ShardContext {
  readonly system: ActorSystem
  /** This thread's shard number (0 = main thread). */
  readonly shard: number
  /** Number of worker shards (numbered 1..workers). */
  readonly workers: number
  readonly registry: ShardAppRegistry
  private readonly table: ShardTable
  private readonly defaultPlacement: Placement
  private readonly agents: (ActorRef<ShardAgentProtocol> | null)[]

  /** @internal Made by the sharded system for each thread. */
  constructor(options: { system: ActorSystem; shard: number; workers: number; registry: ShardAppRegistry; table: ShardTable; placement: Placement }) {
    this.system = options.system
    this.shard = options.shard
    this.workers = options.workers
    this.registry = options.registry
    this.table = options.table
    this.defaultPlacement = options.placement
    this.agents = Array.from({ length: options.workers + 1 }, () => null)
    contexts.set(this.system, this)
  }

  get node(): string {
    return this.system.node
  }

  /** Whether `shard` is up right now (a hint: it may go down the next moment). */
  isUp(shard: number): boolean {
    return this.table.isUp(shard)
  }

  /** The shard a spawn with these options would go to now (round-robin advances the shared counter). */
  place(options: PlacementOptions & { readonly name?: string } = {}): number {
    if (options.shard !== undefined) {
      if (!Number.isInteger(options.shard) || options.shard < 0 || options.shard > this.workers) {
        throw new InvalidArgumentError(`shard must be an integer in 0..${this.workers}, got ${options.shard}`)
      }
      return options.shard
    }
    return placeShard(options.placement ?? this.defaultPlacement, { table: this.table, workers: this.workers, self: this.shard, key: options.key ?? options.name })
  }

  /**
   * Starts a top-level actor of a registered class on the shard the options pick, and resolves with
   * its ref. On this thread's own shard it is a plain local spawn; elsewhere the target shard's agent
   * spawns it (args and options must then be plain data). Fails with ERR_SHARD_DOWN when the shard
   * is down, ERR_UNKNOWN_ACTOR_CLASS for a class the app does not register, and the local spawn
   * errors (ERR_NAME_TAKEN, …) otherwise.
   */
  spawn<C extends ActorClass<Actor<any>, any[]>>(actorClass: C, ...options: ShardSpawnArgs<C>): Promise<ActorRef<ProtocolOf<InstanceType<C>>>>
  spawn<P = unknown>(className: string, options?: ShardSpawnOptions): Promise<ActorRef<P>>
  spawn(actorClass: ActorClass<Actor<any>, any[]> | string, options: ShardSpawnOptions = {}): Promise<ActorRef<any>> {
    try {
      const className = typeof actorClass === 'string' ? actorClass : this.registry.nameOf(actorClass)
      const registered = className === undefined ? undefined : this.registry.classOf(className)
      if (className === undefined || registered === undefined) {
        const what = typeof actorClass === 'string' ? `'${actorClass}'` : `class ${actorClass.name}`
        throw new UnknownActorClassError(`${what} is not registered in the app module's actors (it registers: ${this.registry.names.join(', ')})`, {
          data: { className: typeof actorClass === 'string' ? actorClass : actorClass.name },
        })
      }
      const shard = this.place(options)
      const spawnOptions = spawnOptionsOf(options)
      if (shard === this.shard) return Promise.resolve(this.system.spawn(registered, spawnOptions as never))
      return this.agentOf(shard).ask('spawn', className, spawnOptions)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** The actor registered (or running top-level) under `name` on `shard`, or undefined. */
  async lookup<P = unknown>(name: string, shard: number): Promise<ActorRef<P> | undefined> {
    if (shard === this.shard) return this.system.lookup<P>(name) ?? this.system.resolvePath<P>(`/user/${name}`)
    const ref = await this.agentOf(this.place({ shard })).ask('lookup', name)
    return ref === null ? undefined : (ref as ActorRef<P>)
  }

  /**
   * Resolves with the reason when `ref` stops, wherever it lives (`system.watch` only sees local
   * actors): a shard crash gives `shard-down`.
   */
  watch(ref: ActorRef<any>): Promise<Terminated> {
    if (ref.cell !== null) return this.system.watch(ref)
    return new Promise<Terminated>((resolve) => {
      try {
        this.system.spawn(TerminationWatcher, { args: [ref, resolve] })
      } catch {
        resolve({ ref, reason: ExitReasons.notFound })
      }
    })
  }

  /** @internal The shard's agent moved (the shard started or restarted). */
  setAgent(shard: number, address: ActorAddress | null): void {
    this.agents[shard] = address === null ? null : this.system.refFor<ShardAgentProtocol>(address)
  }

  private agentOf(shard: number): ActorRef<ShardAgentProtocol> {
    const agent = this.agents[shard]
    if (agent === null || agent === undefined || !this.table.isUp(shard)) {
      throw new ShardDownError(`shard ${shard} of ${this.node} is down`, { data: { node: this.node, shard } })
    }
    return agent
  }
}

/** The sharded-system context of a system that belongs to one. Throws for a plain system. */
export function shardsOf(system: ActorSystem): ShardContext {
  const context = contexts.get(system)
  if (context === undefined) throw new InvalidArgumentError(`actor system '${system.name}' (shard ${system.shard}) is not part of a sharded system`)
  return context
}

function spawnOptionsOf(options: ShardSpawnOptions): RemoteSpawnOptions {
  const out: { -readonly [K in keyof RemoteSpawnOptions]: RemoteSpawnOptions[K] } = {}
  if (options.name !== undefined) out.name = options.name
  if (options.args !== undefined) out.args = options.args
  if (options.registerAs !== undefined) out.registerAs = options.registerAs
  if (options.mailbox !== undefined) out.mailbox = options.mailbox
  if (options.reentrant !== undefined) out.reentrant = options.reentrant
  if (options.stashCapacity !== undefined) out.stashCapacity = options.stashCapacity
  if (options.trapExits !== undefined) out.trapExits = options.trapExits
  return out
}

/** Watches one actor on behalf of plain code and stops once it has the answer. */
class TerminationWatcher extends Actor<Record<string, never>> {
  private readonly target: ActorRef<any>
  private readonly resolve: (terminated: Terminated) => void

  constructor(target: ActorRef<any>, resolve: (terminated: Terminated) => void) {
    super()
    this.target = target
    this.resolve = resolve
  }

  override preStart(): void {
    this.context.watch(this.target)
  }

  override onTerminated(terminated: Terminated): void {
    this.resolve(terminated)
    this.context.stop()
  }
}
