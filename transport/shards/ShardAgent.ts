import { Actor, errorCode, Rejection, toError, type ActorRef, type SpawnOptionsBase } from '../../runtime/index.ts'
import { UnknownActorClassError } from './errors.ts'
import type { ShardAppRegistry } from './ShardApp.ts'

/** Spawn options that can cross a thread: plain data only (a mailbox `priority` function cannot). */
export type RemoteSpawnOptions = SpawnOptionsBase & { readonly args?: unknown[] }

export interface ShardAgentProtocol {
  /** Starts a top-level actor of a registered class on this shard and returns its ref. */
  spawn(className: string, options: RemoteSpawnOptions): ActorRef<any>
  /** The actor registered under `name` on this shard (or the top-level actor of that name), or null. */
  lookup(name: string): ActorRef<any> | null
}

/** Name of every shard's agent (`/user/~shard`); `~` keeps it apart from user-chosen names. */
export const SHARD_AGENT_NAME = '~shard'

/**
 * One per shard: carries out requests from other shards that need this shard's own system — spawn a
 * registered class here, look up a name here. Requests arrive as asks through the rings like any
 * message, so the answer (a ref) is encoded as one. Its refusals (unknown class, name taken, bad
 * options) are Rejections: the caller's ask fails with the code, the agent carries on.
 */
export class ShardAgent extends Actor<ShardAgentProtocol> implements ShardAgentProtocol {
  private readonly registry: ShardAppRegistry
  private readonly onSpawn: () => void

  constructor(registry: ShardAppRegistry, onSpawn: () => void) {
    super()
    this.registry = registry
    this.onSpawn = onSpawn
  }

  spawn(className: string, options: RemoteSpawnOptions): ActorRef<any> {
    const actorClass = this.registry.classOf(className)
    if (actorClass === undefined) {
      throw new UnknownActorClassError(`no actor class '${className}' in the app module (it registers: ${this.registry.names.join(', ')})`, {
        data: { className },
      })
    }
    try {
      const ref = this.context.system.spawn(actorClass, options as never)
      this.onSpawn()
      return ref
    } catch (thrown) {
      const error = toError(thrown)
      throw new Rejection(errorCode(error), error.message, { cause: error, data: (error as { data?: unknown }).data })
    }
  }

  lookup(name: string): ActorRef<any> | null {
    const system = this.context.system
    return system.lookup(name) ?? system.resolvePath(`/user/${name}`) ?? null
  }
}
