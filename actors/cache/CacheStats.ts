/** Plain counters of one cache (one shard's actor); the hot path only increments integers. */
export interface CacheStats {
  readonly name: string
  /** L1 lookups: fresh hits (values and negative ones), stale hits served, misses. Sync-view hits included. */
  l1Hits: number
  l1NegativeHits: number
  l1Misses: number
  /** Hits through the synchronous read view (a subset of l1Hits). */
  viewHits: number
  l2Hits: number
  l2Misses: number
  /** L2 reads skipped because the Bloom filter knew the key was absent. */
  l2BloomSkips: number
  l2Errors: number
  loads: number
  loadSuccesses: number
  loadFailures: number
  loadTimeouts: number
  softTimeouts: number
  /** Loads refused by the loader's breaker (open). */
  loadsRejected: number
  /** Callers that joined a load already in flight on this shard (single-flight). */
  singleFlightJoins: number
  staleServes: number
  lockWaits: number
  lockTimeouts: number
  evictedSize: number
  evictedExpired: number
  rejectedByAdmission: number
  invalidated: number
  entries: number
  bytes: number
  writesQueued: number
  writesFlushed: number
  /** Writes not applied to L2, by reason: `queue_full`, `policy_drop`, `superseded` (a newer write got there first), `no_base` (a load whose L2 read failed). */
  writesDropped: Record<string, number>
  invalidationsSent: number
  invalidationsReceived: number
  /** L1 cleared because an invalidation was lost (sequence gap or generation gap). */
  heals: number
  decodeErrors: number
}

export function newStats(name: string): CacheStats {
  return {
    name,
    l1Hits: 0,
    l1NegativeHits: 0,
    l1Misses: 0,
    viewHits: 0,
    l2Hits: 0,
    l2Misses: 0,
    l2BloomSkips: 0,
    l2Errors: 0,
    loads: 0,
    loadSuccesses: 0,
    loadFailures: 0,
    loadTimeouts: 0,
    softTimeouts: 0,
    loadsRejected: 0,
    singleFlightJoins: 0,
    staleServes: 0,
    lockWaits: 0,
    lockTimeouts: 0,
    evictedSize: 0,
    evictedExpired: 0,
    rejectedByAdmission: 0,
    invalidated: 0,
    entries: 0,
    bytes: 0,
    writesQueued: 0,
    writesFlushed: 0,
    writesDropped: {},
    invalidationsSent: 0,
    invalidationsReceived: 0,
    heals: 0,
    decodeErrors: 0,
  }
}
