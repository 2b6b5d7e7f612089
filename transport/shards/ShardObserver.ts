import type { ActorSystem, Instrumentation, Logger, MailboxHooks } from '../../runtime/index.ts'
import type { FrameTransport } from '../FrameTransport.ts'
import type { RemotingStats } from '../Remoting.ts'
import { ShardStartError } from './errors.ts'

/**
 * What a worker shard is observed with — metrics, tracing, operator logs — given as a module each
 * thread loads (a registry, a tracer or a logger cannot cross a thread; a module URL and plain
 * options can), like the uplink. `troupe/cluster`'s node passes its own (cluster/observability).
 */
export interface ShardObserverSpec {
  /** Module URL (what `import()` takes) whose default export is a ShardObserverModule. */
  readonly module: string
  /** Plain data for `create`. */
  readonly options: Readonly<Record<string, unknown>>
}

export interface ShardObserverModule {
  create(shard: number, options: Readonly<Record<string, unknown>>): ShardObserver | Promise<ShardObserver>
}

/** One worker shard's observer: hooks for its system, and what it contributes to the main thread's scrape. */
export interface ShardObserver {
  readonly instrumentation?: Instrumentation
  readonly mailboxHooks?: MailboxHooks
  /** The shard's system exists; `logger` is the node's logger bound to the shard; `remoting` its Remoting's counters. */
  attach?(system: ActorSystem, logger: Logger, remoting: RemotingStats): void
  /** The shard is linked to other nodes through `link` (its own NATS connection). */
  linked?(link: FrameTransport): void
  /** This shard's metrics as plain data (e.g. prom-client's `getMetricsAsJSON()`), for the main thread's scrape. */
  metrics?(): Promise<unknown>
  /** Answers an introspection request (plain data both ends understand), asked on demand by the main thread. */
  introspect?(request: unknown): unknown
}

export async function loadShardObserver(spec: ShardObserverSpec, shard: number): Promise<ShardObserver> {
  try {
    const module = (await import(spec.module)) as { default?: Partial<ShardObserverModule> }
    const create = module.default?.create
    if (typeof create !== 'function') throw new Error(`${spec.module} has no default export with create(shard, options)`)
    return await create.call(module.default, shard, spec.options)
  } catch (error) {
    throw new ShardStartError(`shard ${shard} could not load its observer: ${(error as Error).message}`, { cause: error, data: { shard } })
  }
}
