import type { ActorAddress, EncodedError } from '../../runtime/index.ts'
import type { PeerLinks, ThreadLinks } from './RingMesh.ts'
import type { ShardPending, ShardSettings, ShardStats } from './ShardHost.ts'
import type { ShardLogRecord } from './ShardLog.ts'

/**
 * Control messages between the main thread and its shard workers (worker `postMessage`). Only the
 * control plane uses them — start, membership changes, stats, stop; actor messages go through the
 * rings.
 */

/** `workerData` of a shard worker. */
export interface ShardWorkerData {
  readonly tag: typeof SHARD_WORKER_TAG
  readonly settings: ShardSettings
  readonly shard: number
  /** The app module's URL (what `import()` takes). */
  readonly app: string
  readonly links: ThreadLinks
  readonly table: SharedArrayBuffer
  readonly down: readonly number[]
}

export const SHARD_WORKER_TAG = 'troupe-shard-worker'

export type MainToShard =
  /** Every shard is reachable: here are their agents; run the app's `startShard`. */
  | { readonly type: 'start'; readonly agents: readonly (ActorAddress | null)[] }
  | { readonly type: 'peer-down'; readonly shard: number }
  | { readonly type: 'peer-up'; readonly shard: number; readonly links: PeerLinks; readonly agent: ActorAddress }
  | { readonly type: 'stats'; readonly id: number }
  /** The node is shutting down: tell other nodes to route no new work to this shard. */
  | { readonly type: 'leaving' }
  /** How much work the shard still holds (a drain before shutdown). */
  | { readonly type: 'pending'; readonly id: number }
  /** The shard's metrics from its observer, for a scrape. */
  | { readonly type: 'metrics'; readonly id: number }
  /** An introspection request for the shard's observer (plain data it understands: the actor tree, one actor, …). */
  | { readonly type: 'introspect'; readonly id: number; readonly request: unknown }
  /** Stop the app and the actor tree, close the transport; the main thread then ends the thread. */
  | { readonly type: 'stop' }

export type ShardToMain =
  /** The shard's system, transport and agent run: it can take messages. */
  | { readonly type: 'ready'; readonly agent: ActorAddress }
  | { readonly type: 'started' }
  | { readonly type: 'failed'; readonly error: EncodedError; readonly stack?: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ShardStats }
  | { readonly type: 'pending'; readonly id: number; readonly work: ShardPending }
  | { readonly type: 'metrics'; readonly id: number; readonly data: unknown }
  /** The observer's answer to an introspection request; null without one (or when it failed). */
  | { readonly type: 'introspect'; readonly id: number; readonly data: unknown }
  /** A log record for the node's logger (bound to this shard there). */
  | { readonly type: 'log'; readonly record: ShardLogRecord }
  /** Its actors have stopped and its transport is closed: the thread may be ended, whatever timers it left. */
  | { readonly type: 'stopped' }
