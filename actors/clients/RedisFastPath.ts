import type { ActorSystem } from '../../runtime/index.ts'
import { RedisClosedError } from '../errors.ts'
import type { HealthSnapshot } from './Health.ts'
import type { RedisArg } from './RedisClient.ts'

/** @internal What a RedisClient actor binds: its own calls, minus the message. */
export interface RedisFastPathBinding {
  command(name: string, args: readonly RedisArg[], buffers: boolean): Promise<unknown>
  eval(script: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown>
  health(): HealthSnapshot
}

/**
 * The same-shard fast path to a RedisClient actor: its calls without a message per call, for code
 * running on the same ActorSystem (the same thread), as BreakerClient is to a breaker. Each call
 * still goes through the client: its breaker (fast path), its connection (offline queue off, typed
 * errors, command timeout), its in-flight accounting for the drain. It is one stable object per
 * (system, client name): the actor binds it when it starts and unbinds it when it stops or
 * restarts, so a restart under supervision (a new connection) is picked up without the caller
 * doing anything. While unbound every call rejects with ERR_REDIS_CLOSED.
 */
export class RedisFastPath {
  readonly client: string
  private binding: RedisFastPathBinding | null = null

  private constructor(client: string) {
    this.client = client
  }

  /** The fast path of the RedisClient named `client` (its `name` option) on `system`; created unbound on first use. */
  static of(system: ActorSystem, client: string): RedisFastPath {
    let byName = paths.get(system)
    if (byName === undefined) {
      byName = new Map()
      paths.set(system, byName)
    }
    let path = byName.get(client)
    if (path === undefined) {
      path = new RedisFastPath(client)
      byName.set(client, path)
    }
    return path
  }

  /** True while a RedisClient actor of that name runs on the system. */
  get bound(): boolean {
    return this.binding !== null
  }

  /** As the actor's `command`; bulk replies are strings. */
  command(name: string, ...args: RedisArg[]): Promise<unknown> {
    return this.binding === null ? this.closed() : this.binding.command(name, args, false)
  }

  /** As `command`, with bulk replies as Buffers (binary values stay binary). */
  commandBuffer(name: string, ...args: RedisArg[]): Promise<unknown> {
    return this.binding === null ? this.closed() : this.binding.command(name, args, true)
  }

  /** As the actor's `eval` (EVALSHA, loading the script on NOSCRIPT). */
  eval(script: string, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    return this.binding === null ? this.closed() : this.binding.eval(script, keys, args)
  }

  /** The client's health, or null while no client is bound. */
  health(): HealthSnapshot | null {
    return this.binding?.health() ?? null
  }

  /** @internal The actor's side. */
  bind(binding: RedisFastPathBinding): void {
    this.binding = binding
  }

  /** @internal Unbinds only if `binding` is still the bound one (a successor may have bound already). */
  unbind(binding: RedisFastPathBinding): void {
    if (this.binding === binding) this.binding = null
  }

  private closed(): Promise<never> {
    return Promise.reject(new RedisClosedError(`Redis client '${this.client}' is not running on this system`, { data: { client: this.client } }))
  }
}

const paths = new WeakMap<ActorSystem, Map<string, RedisFastPath>>()
