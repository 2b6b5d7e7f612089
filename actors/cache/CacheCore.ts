import type { Clock, Random } from '../../runtime/index.ts'
import { BreakerCore } from '../breaker/BreakerCore.ts'
import { resolveBreakerOptions } from '../breaker/BreakerOptions.ts'
import { BloomFilter } from './BloomFilter.ts'
import { decodePayload } from './CachePayload.ts'
import type { L2Read } from './CacheL2Store.ts'
import type { ResolvedCacheOptions } from './CacheOptions.ts'
import { newStats, type CacheStats } from './CacheStats.ts'
import type { InvalidationMessage } from './InvalidationBus.ts'
import { estimateBytes, L1Store } from './L1Store.ts'
import type { CacheNode } from './LruList.ts'

/** An L2 version that is not known (the read failed): a load's result then never goes to L2. */
export const UNKNOWN_VERSION = -2

/** What an L2 lookup found: a fresh node (now in L1), a stale one (for fail-safe), and the key's version. */
export interface L2Fill<V> {
  readonly node: CacheNode<V> | null
  readonly stale: CacheNode<V> | null
  readonly base: number
}

/**
 * The cache's state and its synchronous logic, shared by the actor and its helpers (Loads,
 * Writes): L1, counters, TTL arithmetic, fills from L2, and cluster coherence (applying
 * invalidations, detecting lost ones by sequence and generation, healing). No I/O except the L2
 * port's promises; time and randomness come from the system's Clock and Random.
 */
export class CacheCore<V> {
  readonly o: ResolvedCacheOptions<V>
  readonly clock: Clock
  readonly random: Random
  readonly origin: string
  readonly l1: L1Store<V>
  readonly stats: CacheStats
  readonly breaker: BreakerCore | null
  bloom: BloomFilter | null = null
  private rebuilding: BloomFilter | null = null
  private nextRebuildAt = 0
  private seq = 0
  /** Generations applied with no gap up to here; higher ones seen are in `pending`. */
  private upTo = 0
  private readonly pending = new Set<number>()
  private generationKnown = false
  private suspect: { gen: number; at: number } | null = null
  private readonly lastSeq = new Map<string, number>()

  constructor(options: ResolvedCacheOptions<V>, clock: Clock, random: Random, origin: string) {
    this.o = options
    this.clock = clock
    this.random = random
    this.origin = origin
    this.l1 = new L1Store<V>({ maxEntries: options.maxEntries, maxBytes: options.maxBytes, tinyLfu: options.tinyLfu })
    this.stats = newStats(options.name)
    this.breaker = options.breaker === null ? null : new BreakerCore(resolveBreakerOptions({ ...options.breaker, name: `cache:${options.name}` }), clock, random, () => {})
  }

  /** Counters with the L1's figures folded in. */
  snapshot(): CacheStats {
    const c = this.l1.counters
    return { ...this.stats, writesDropped: { ...this.stats.writesDropped }, evictedSize: c.evictedSize, evictedExpired: c.evictedExpired, rejectedByAdmission: c.rejectedByAdmission, invalidated: c.invalidated, entries: this.l1.size, bytes: this.l1.bytes }
  }

  /** A TTL cut by up to `jitter` of itself at random: keys written together do not all expire together. */
  jittered(ttlMs: number): number {
    return Math.max(1, Math.round(ttlMs * (1 - this.o.jitter * this.random.next())))
  }

  /**
   * `encodedBytes`: the value's msgpack size, when known (an L2 fill): without `sizeOf`, the estimate is then taken from it instead of walking the value.
   * `now`: the caller's clock reading, when it has one (a clock read costs ~100–250 ns on some VMs).
   */
  node(key: string, value: V | undefined, negative: boolean, freshMs: number, staleMs: number, version: number, tags: readonly string[] | null, encodedBytes = -1, now = this.clock.now()): CacheNode<V> {
    const freshUntil = now + Math.min(freshMs, this.o.l1MaxTtlMs)
    const size = this.o.sizeOf !== null ? this.o.sizeOf(value as V) : encodedBytes >= 0 ? 32 + encodedBytes * 3 : estimateBytes(value)
    const bytes = 48 + key.length * 2 + (negative ? 0 : size)
    return { key, value, negative, bytes, freshUntil, staleUntil: Math.max(freshUntil, now + freshMs + staleMs), version, tags, segment: 0, prev: null, next: null }
  }

  /** Puts `node` in L1 unless L1 holds a newer version of the key (write ordering). */
  keep(node: CacheNode<V>, now = this.clock.now()): boolean {
    const current = this.l1.peek(node.key)
    if (current !== undefined && current.version > node.version && node.version >= 0) return false
    return this.l1.put(node, now)
  }

  /** Reads L2 (unless the Bloom filter knows the key is absent) and fills L1 with the remaining TTL. */
  fillFromL2(key: string): Promise<L2Fill<V>> {
    const l2 = this.o.l2
    if (l2 === null) return Promise.resolve({ node: null, stale: null, base: -1 })
    if (this.bloom !== null && !this.bloom.mightContain(key)) {
      this.stats.l2BloomSkips++
      return Promise.resolve({ node: null, stale: null, base: 0 })
    }
    // `.then`, not `await`: the hit path stays one promise layer over the store's.
    return l2.read(key).then(
      (read) => this.fill(key, read),
      () => {
        this.stats.l2Errors++
        return { node: null, stale: null, base: UNKNOWN_VERSION }
      },
    )
  }

  /**
   * A plain read (no load): a fresh L2 value, else `stale` (the caller's expired L1 entry) within
   * max-stale as a fail-safe, else undefined. One promise layer over the store's read (not two, as
   * through `fillFromL2`): each layer is a turn of the microtask queue on the L2 hit path.
   */
  readThrough(key: string, stale: CacheNode<V> | null): Promise<V | undefined> {
    const l2 = this.o.l2
    if (l2 === null || (this.bloom !== null && !this.bloom.mightContain(key))) {
      if (l2 !== null) this.stats.l2BloomSkips++
      return Promise.resolve(this.staleOr(stale))
    }
    return l2.read(key).then(
      (read) => {
        const fill = this.fill(key, read)
        return fill.node !== null ? fill.node.value : this.staleOr(stale)
      },
      () => {
        this.stats.l2Errors++
        return this.staleOr(stale)
      },
    )
  }

  /** Fail-safe for reads too: L2 down or expired, a value within max-stale still answers. */
  private staleOr(stale: CacheNode<V> | null): V | undefined {
    if (stale !== null && this.o.maxStaleMs > 0 && stale.staleUntil > this.clock.now()) {
      this.stats.staleServes++
      return stale.value
    }
    return undefined
  }

  private fill(key: string, read: L2Read): L2Fill<V> {
    if (read.record === null) {
      this.stats.l2Misses++
      return { node: null, stale: null, base: read.version }
    }
    let decoded
    try {
      decoded = decodePayload(read.record.payload, this.o.name)
    } catch {
      // Foreign or corrupt bytes: a miss; the next write (same version, so the compare-and-set passes) replaces them.
      this.stats.decodeErrors++
      this.stats.l2Misses++
      return { node: null, stale: null, base: read.version }
    }
    const freshMs = read.record.ttlMs - decoded.staleMs
    const now = this.clock.now()
    // The remaining TTL, never a fresh one: this L1 copy expires no later than the L2 entry.
    const node = this.node(key, decoded.value as V, decoded.negative, Math.max(0, freshMs), Math.min(decoded.staleMs, read.record.ttlMs), read.record.version, decoded.tags.length === 0 ? null : decoded.tags, read.record.payload.length, now)
    if (freshMs <= 0) {
      this.stats.l2Misses++
      return { node: null, stale: this.o.maxStaleMs > 0 ? node : null, base: read.version }
    }
    this.stats.l2Hits++
    this.keep(node, now)
    return { node, stale: null, base: read.version }
  }

  // ── Cluster coherence ────────────────────────────────────────────────────────────────────────

  /** Publishes one invalidation (own echo ignored on receipt) and records its generation as applied. */
  publish(kind: InvalidationMessage['kind'], target: string, version: number, generation: number, exists: boolean): void {
    this.applied(generation)
    const bus = this.o.bus
    if (bus === null) return
    this.stats.invalidationsSent++
    bus.publish({ cache: this.o.name, origin: this.origin, seq: ++this.seq, generation, kind, target, version, exists })
  }

  receive(m: InvalidationMessage): void {
    if (m.origin === this.origin || m.cache !== this.o.name) return
    this.stats.invalidationsReceived++
    const last = this.lastSeq.get(m.origin)
    // A gap in an origin's sequence: something it sent never arrived. Which key is unknown, so all of L1 goes.
    if (last !== undefined && m.seq > last + 1) this.heal()
    if (last === undefined || m.seq > last) this.lastSeq.set(m.origin, m.seq)
    this.applied(m.generation)
    switch (m.kind) {
      case 'key': {
        const node = this.l1.peek(m.target)
        // Version 0: the origin could not reach L2, so it cannot order the change; dropping is always safe.
        if (node !== undefined && (m.version === 0 || node.version < m.version)) {
          this.l1.delete(m.target)
          this.l1.counters.invalidated++
        }
        if (m.exists) this.bloomAdd(m.target)
        break
      }
      case 'prefix':
        this.l1.deleteWhere((n) => n.key.startsWith(m.target))
        break
      case 'tag':
        this.l1.deleteWhere((n) => n.tags !== null && n.tags.includes(m.target))
        break
      case 'clear':
        this.l1.clear()
        break
    }
  }

  heal(): void {
    this.stats.heals++
    this.l1.clear()
  }

  private applied(generation: number): void {
    if (generation <= this.upTo) return
    this.pending.add(generation)
    while (this.pending.delete(this.upTo + 1)) this.upTo++
  }

  /**
   * The periodic generation check: L2's generation counts every change. One this node has not seen
   * applied for longer than `syncGraceMs` (time for messages in flight) was lost: heal. Staleness
   * after a lost invalidation is therefore at most syncGraceMs + 2 × syncIntervalMs.
   */
  async checkGeneration(): Promise<void> {
    const l2 = this.o.l2
    if (l2 === null) return
    let gen: number
    try {
      gen = await l2.generation()
    } catch {
      this.stats.l2Errors++
      return
    }
    const now = this.clock.now()
    if (!this.generationKnown) {
      // At start L1 holds nothing older than L2's current generation.
      this.generationKnown = true
      this.advanceTo(gen)
      return
    }
    if (gen < this.upTo) {
      // The generation went back: L2 lost its data (a restart without persistence), versions with it.
      // Versions in L1 could now outrank newer values, so L1 goes; counting restarts from L2's figure.
      this.heal()
      this.upTo = gen
      this.pending.clear()
      this.suspect = null
      return
    }
    if (this.suspect !== null && this.upTo >= this.suspect.gen) this.suspect = null
    if (gen <= this.upTo) return
    if (this.suspect === null) {
      this.suspect = { gen, at: now }
      return
    }
    if (now - this.suspect.at < this.o.syncGraceMs) return
    this.heal()
    this.advanceTo(this.suspect.gen)
    this.suspect = gen > this.upTo ? { gen, at: now } : null
  }

  private advanceTo(gen: number): void {
    if (gen > this.upTo) this.upTo = gen
    for (const g of this.pending) if (g <= this.upTo) this.pending.delete(g)
    while (this.pending.delete(this.upTo + 1)) this.upTo++
  }

  // ── Bloom filter ─────────────────────────────────────────────────────────────────────────────

  bloomAdd(key: string): void {
    this.bloom?.add(key)
    this.rebuilding?.add(key)
  }

  /** Rebuilds the filter from L2's keys when due; until the first rebuild completes no read is skipped. */
  async maybeRebuildBloom(): Promise<void> {
    const options = this.o.bloom
    const l2 = this.o.l2
    if (options === null || l2 === null || this.rebuilding !== null || this.clock.now() < this.nextRebuildAt) return
    const next = new BloomFilter(options.expectedKeys, options.falsePositiveRate)
    this.rebuilding = next
    try {
      for (const key of await l2.keys(options.expectedKeys * 4)) next.add(key)
      this.bloom = next
      this.nextRebuildAt = this.clock.now() + options.rebuildIntervalMs
    } catch {
      this.stats.l2Errors++
      this.nextRebuildAt = this.clock.now() + this.o.retryIntervalMs
    } finally {
      this.rebuilding = null
    }
  }
}
