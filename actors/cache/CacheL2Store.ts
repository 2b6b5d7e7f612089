/**
 * The L2 port: a store shared by every node (Redis in production, MemoryCacheL2 in the simulator).
 * Both implementations keep the same semantics, which the cache relies on:
 *
 * - Every key has a version counter that outlives its value (by `versionRetentionMs`). Each write
 *   and delete bumps it; `read` returns it even on a miss.
 * - `write` with `expectedVersion` ≥ 0 is a compare-and-set: it lands only if nobody wrote or
 *   deleted the key since that version was read (or the counter is 0: nothing newer exists). A load therefore never overwrites a newer value
 *   that arrived while it ran (the reference design's last-writer-wins lost updates).
 * - Every write, delete and invalidation bumps the cache's generation; nodes poll it to detect
 *   invalidations their bus lost (see InvalidationBus).
 * - `ttlMs` counts milliseconds (`SET … PX`), never whole seconds, and `read` answers the remaining
 *   TTL, so an L1 filled from L2 never outlives the L2 entry.
 */
export interface L2Record {
  /** The encoded payload (format byte + msgpack), as written. */
  readonly payload: Uint8Array
  /** Milliseconds the stored entry still lives (PTTL). */
  readonly ttlMs: number
  readonly version: number
}

export interface L2Read {
  /** Null on a miss. */
  readonly record: L2Record | null
  /** The key's current version counter (0: never written or forgotten). */
  readonly version: number
}

export interface L2WriteResult {
  /** False when the compare-and-set failed: a newer write or a delete got there first. */
  readonly written: boolean
  /** The key's version after the call (the new one when written, the newer one otherwise). */
  readonly version: number
  /** The cache's generation after the call. */
  readonly generation: number
}

export interface L2DeleteResult {
  readonly keys: number
  readonly generation: number
}

export interface CacheL2Store {
  read(key: string): Promise<L2Read>
  /** `expectedVersion` -1: unconditional. `tags` index the key for `deleteByTag`. */
  write(key: string, payload: Uint8Array, ttlMs: number, expectedVersion: number, tags: readonly string[]): Promise<L2WriteResult>
  delete(key: string): Promise<L2DeleteResult & { version: number }>
  deleteByPrefix(prefix: string): Promise<L2DeleteResult>
  deleteByTag(tag: string): Promise<L2DeleteResult>
  /** The cache's generation (bumped by every write, delete and invalidation). */
  generation(): Promise<number>
  /** Every live key (for the Bloom filter rebuild); may be approximate under concurrent writes. */
  keys(limit: number): Promise<string[]>
  /** Takes the distributed load lock for `key`: a fencing token (> 0), or 0 when another holder has it. */
  lock(key: string, ttlMs: number): Promise<number>
  /** Releases the lock only if `token` still holds it (compare-and-delete). */
  unlock(key: string, token: number): Promise<boolean>
}
