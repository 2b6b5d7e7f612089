import { InvalidArgumentError, ShardDownError } from '../../runtime/index.ts'
import type { ShardTable } from './ShardTable.ts'

/**
 * Where a spawn goes when no shard is named. Only worker shards (1..N) are candidates; shard 0, the
 * main thread, takes actors only when asked by number.
 * - `round-robin`: the next up shard in a counter every thread shares (default).
 * - `hash`: FNV-1a of the key (the actor's name unless `key` is given) modulo N: the same key always
 *   lands on the same shard, and fails with ERR_SHARD_DOWN while that shard is down.
 * - `least-loaded`: the up shard with the fewest live actors (each shard stores its count in the
 *   shared table every `loadReportMs`, and placements add theirs at once).
 * - `local`: the calling thread's own shard.
 */
export type Placement = 'round-robin' | 'hash' | 'least-loaded' | 'local'

export const PLACEMENTS: readonly Placement[] = ['round-robin', 'hash', 'least-loaded', 'local']

/** 32-bit FNV-1a over UTF-16 code units: cheap, stable across threads and runs. */
export function fnv1a(key: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** The worker shard (1..workers) a key hashes to. */
export function hashShard(key: string, workers: number): number {
  return 1 + (fnv1a(key) % workers)
}

export interface PlacementInput {
  readonly table: ShardTable
  /** Worker shards (1..workers). */
  readonly workers: number
  /** The calling thread's shard. */
  readonly self: number
  /** Key for `hash`. */
  readonly key: string | undefined
}

/** Picks the shard for one spawn. Throws ERR_SHARD_DOWN when no candidate is up. */
export function placeShard(strategy: Placement, input: PlacementInput): number {
  const { table, workers } = input
  switch (strategy) {
    case 'local':
      return input.self
    case 'hash': {
      if (input.key === undefined) throw new InvalidArgumentError("placement 'hash' needs a name (or a key) to hash")
      const shard = hashShard(input.key, workers)
      if (!table.isUp(shard)) throw down(shard, `shard ${shard}, where '${input.key}' hashes, is down`)
      return shard
    }
    case 'round-robin': {
      const start = table.nextRoundRobin()
      for (let i = 0; i < workers; i++) {
        const shard = 1 + ((start + i) % workers)
        if (table.isUp(shard)) return shard
      }
      throw down(null, 'no worker shard is up')
    }
    case 'least-loaded': {
      // Start the scan at a rotating shard so ties spread instead of all landing on shard 1.
      const start = table.nextRoundRobin()
      let best = -1
      let bestLoad = Infinity
      for (let i = 0; i < workers; i++) {
        const shard = 1 + ((start + i) % workers)
        if (!table.isUp(shard)) continue
        const load = table.load(shard)
        if (load < bestLoad) {
          best = shard
          bestLoad = load
        }
      }
      if (best < 0) throw down(null, 'no worker shard is up')
      table.addLoad(best, 1)
      return best
    }
    default:
      throw new InvalidArgumentError(`unknown placement '${String(strategy)}': use ${PLACEMENTS.join(', ')}`)
  }
}

function down(shard: number | null, message: string): Error {
  return new ShardDownError(message, { data: { shard } })
}
