import { Actor, InvalidArgumentError, type ActorClass } from '../../runtime/index.ts'
import type { ShardContext } from './ShardContext.ts'

/**
 * What a sharded system loads in every thread: the module's default export. Actor classes are
 * registered by name so any shard can start one from a spawn request (a class cannot cross a thread;
 * its name can). `cluster/node`'s `defineApp({ name, actors, start })` has this shape, so a node's
 * app module works here unchanged (its `start` is the node's business; shards call `startShard`).
 */
export interface ShardApp {
  readonly name?: string
  readonly actors: Readonly<Record<string, ActorClass<Actor<any>, any[]>>>
  /**
   * Runs in every worker shard once all shards are up, and again in a shard restarted after a crash:
   * start that shard's top-level (supervised) actors here. The shard counts as up once it resolves.
   */
  startShard?(context: ShardContext): void | Promise<void>
  /** Runs in every worker shard on shutdown, before its actor tree is stopped. */
  stopShard?(context: ShardContext): void | Promise<void>
}

/** Declares a shard app module: `export default defineShardApp({ actors: { Counter }, startShard })`. */
export function defineShardApp<A extends ShardApp>(app: A): A {
  return app
}

/** Loads and checks an app module; the registry maps names to classes and classes to names. */
export async function loadShardApp(url: string): Promise<ShardAppRegistry> {
  const module = (await import(url)) as { default?: unknown }
  return ShardAppRegistry.from(module.default, url)
}

/** The app's actor classes by name, and the reverse. */
export class ShardAppRegistry {
  static from(app: unknown, where: string): ShardAppRegistry {
    if (app === null || typeof app !== 'object' || typeof (app as ShardApp).actors !== 'object' || (app as ShardApp).actors === null) {
      throw new InvalidArgumentError(`the shard app module ${where} must export default an object with \`actors: { Name: ActorClass }\``)
    }
    const shardApp = app as ShardApp
    for (const [name, actorClass] of Object.entries(shardApp.actors)) {
      if (typeof actorClass !== 'function' || !(actorClass.prototype instanceof Actor)) {
        throw new InvalidArgumentError(
          `actors.${name} in ${where} is not a class that extends Actor (if it is, the app and the shard worker load two copies of troupe)`,
        )
      }
    }
    for (const hook of ['startShard', 'stopShard'] as const) {
      if (shardApp[hook] !== undefined && typeof shardApp[hook] !== 'function') throw new InvalidArgumentError(`${hook} in ${where} must be a function`)
    }
    return new ShardAppRegistry(shardApp)
  }

  readonly app: ShardApp
  private readonly byName: Map<string, ActorClass<Actor<any>, any[]>>
  private readonly byClass: Map<unknown, string>

  private constructor(app: ShardApp) {
    this.app = app
    this.byName = new Map(Object.entries(app.actors))
    this.byClass = new Map([...this.byName].map(([name, actorClass]) => [actorClass, name]))
  }

  classOf(name: string): ActorClass<Actor<any>, any[]> | undefined {
    return this.byName.get(name)
  }

  /**
   * The registered name of a class. Falls back to a class of the same name when the caller holds
   * another copy of the module (a test runner and a worker may each load their own).
   */
  nameOf(actorClass: ActorClass<Actor<any>, any[]>): string | undefined {
    const exact = this.byClass.get(actorClass)
    if (exact !== undefined) return exact
    for (const [name, registered] of this.byName) if (registered.name === actorClass.name) return name
    return undefined
  }

  get names(): string[] {
    return [...this.byName.keys()]
  }
}
