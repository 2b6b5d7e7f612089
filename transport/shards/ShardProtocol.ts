import type { ActorAddress, EncodedError } from '../../runtime/index.ts'
import type { PeerLinks, ThreadLinks } from './RingMesh.ts'
import type { ShardSettings, ShardStats } from './ShardHost.ts'

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
  /** Stop the app and the actor tree, close the transport, end the thread. */
  | { readonly type: 'stop' }

export type ShardToMain =
  /** The shard's system, transport and agent run: it can take messages. */
  | { readonly type: 'ready'; readonly agent: ActorAddress }
  | { readonly type: 'started' }
  | { readonly type: 'failed'; readonly error: EncodedError; readonly stack?: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ShardStats }
  | { readonly type: 'stopped' }
