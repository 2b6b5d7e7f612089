import { FrequencySketch, hashKey } from './FrequencySketch.ts'
import { LruList, type CacheNode } from './LruList.ts'

export type EvictionReason = 'size' | 'expired' | 'admission' | 'invalidated'

export interface L1Bounds {
  readonly maxEntries: number
  readonly maxBytes: number
  /** W-TinyLFU admission instead of plain LRU. */
  readonly tinyLfu: boolean
}

export interface L1Counters {
  evictedSize: number
  evictedExpired: number
  rejectedByAdmission: number
  invalidated: number
}

/**
 * The L1 tier: a map of nodes over either one LRU list, or W-TinyLFU (Caffeine's policy: a small
 * LRU admission window of 1% in front of the main LRU; when both are full the window's victim
 * enters main only if the frequency sketch says it is more popular than main's victim).
 *
 * Bounds hold after every call: entries ≤ maxEntries and bytes ≤ maxBytes (a single value larger
 * than maxBytes is not cached at all). Expired entries are dropped lazily on access, or when they
 * reach the tail, and counted.
 */
export class L1Store<V = unknown> {
  readonly bounds: L1Bounds
  readonly counters: L1Counters = { evictedSize: 0, evictedExpired: 0, rejectedByAdmission: 0, invalidated: 0 }
  private readonly map = new Map<string, CacheNode<V>>()
  private readonly main = new LruList<V>()
  private readonly window = new LruList<V>()
  private readonly windowMax: number
  private readonly sketch: FrequencySketch | null

  constructor(bounds: L1Bounds) {
    this.bounds = bounds
    this.sketch = bounds.tinyLfu ? new FrequencySketch(bounds.maxEntries) : null
    this.windowMax = bounds.tinyLfu ? Math.max(1, Math.floor(bounds.maxEntries / 100)) : 0
  }

  get size(): number {
    return this.map.size
  }

  get bytes(): number {
    return this.main.bytes + this.window.bytes
  }

  /** A usable entry (fresh, or stale within its stale bound, as `now` says) and marks it used; expired ones are dropped. */
  get(key: string, now: number): CacheNode<V> | undefined {
    const node = this.lookup(key)
    return node === undefined ? undefined : this.touch(node, now)
  }

  /**
   * `get` in two steps, for callers that read the clock only when there is an entry to judge: the
   * entry (counted for admission, hit or miss), then `touch`, which must follow at once.
   */
  lookup(key: string): CacheNode<V> | undefined {
    const node = this.map.get(key)
    if (this.sketch !== null) this.sketch.increment(hashKey(key))
    return node
  }

  /** The second step of `get`: `node` (from `lookup`) marked used, or undefined when expired (then dropped). */
  touch(node: CacheNode<V>, now: number): CacheNode<V> | undefined {
    if (node.staleUntil <= now) {
      this.remove(node)
      this.counters.evictedExpired++
      return undefined
    }
    if (node.segment === 1) this.window.moveToFront(node)
    else this.main.moveToFront(node)
    return node
  }

  /** The entry without touching recency or frequency (expired or not). */
  peek(key: string): CacheNode<V> | undefined {
    return this.map.get(key)
  }

  /**
   * Inserts or replaces the entry for `node.key`. Returns false when the value was not kept (larger
   * than maxBytes, or refused by admission).
   */
  put(node: CacheNode<V>, now: number): boolean {
    const old = this.map.get(node.key)
    if (old !== undefined) this.remove(old)
    if (node.bytes > this.bounds.maxBytes || this.bounds.maxEntries === 0) return false
    this.map.set(node.key, node)
    if (this.sketch === null) {
      node.segment = 2
      this.main.pushFront(node)
      this.evictLru(now)
      return true
    }
    // No increment here: the miss that led to this put was counted by `get` (counting both would favour new keys).
    node.segment = 1
    this.window.pushFront(node)
    return this.balance(node, now)
  }

  delete(key: string): CacheNode<V> | undefined {
    const node = this.map.get(key)
    if (node !== undefined) this.remove(node)
    return node
  }

  /** Drops every entry whose key starts with `prefix` or that carries `tag` (O(n): an admin operation). */
  deleteWhere(match: (node: CacheNode<V>) => boolean): number {
    let dropped = 0
    for (const node of this.map.values()) {
      if (!match(node)) continue
      this.remove(node)
      dropped++
    }
    this.counters.invalidated += dropped
    return dropped
  }

  clear(): number {
    const n = this.map.size
    this.map.clear()
    for (const list of [this.main, this.window]) {
      list.head = null
      list.tail = null
      list.length = 0
      list.bytes = 0
    }
    this.counters.invalidated += n
    return n
  }

  /** Keys most- to least-recently used (main list; window first under W-TinyLFU). */
  keys(): string[] {
    return [...this.window.keys(), ...this.main.keys()]
  }

  private remove(node: CacheNode<V>): void {
    this.map.delete(node.key)
    if (node.segment === 1) this.window.unlink(node)
    else if (node.segment === 2) this.main.unlink(node)
    node.segment = 0
  }

  private over(): boolean {
    return this.map.size > this.bounds.maxEntries || this.bytes > this.bounds.maxBytes
  }

  private evictLru(now: number): void {
    while (this.over()) {
      const victim = this.main.tail as CacheNode<V>
      this.remove(victim)
      if (victim.staleUntil <= now) this.counters.evictedExpired++
      else this.counters.evictedSize++
    }
  }

  /** W-TinyLFU: overflow of the window moves to main; a full main holds a contest at its tail. */
  private balance(inserted: CacheNode<V>, now: number): boolean {
    const sketch = this.sketch as FrequencySketch
    while (this.window.length > this.windowMax || (this.over() && this.window.length > 0)) {
      const candidate = this.window.tail as CacheNode<V>
      this.window.unlink(candidate)
      candidate.segment = 2
      this.main.pushFront(candidate)
      if (!this.over()) continue
      const victim = this.main.tail as CacheNode<V>
      if (victim === candidate) {
        this.remove(candidate)
        this.counters.rejectedByAdmission++
        continue
      }
      const expired = victim.staleUntil <= now
      if (!expired && sketch.frequency(hashKey(candidate.key)) <= sketch.frequency(hashKey(victim.key))) {
        this.remove(candidate)
        this.counters.rejectedByAdmission++
      } else {
        this.remove(victim)
        if (expired) this.counters.evictedExpired++
        else this.counters.evictedSize++
      }
    }
    this.evictLru(now)
    return this.map.get(inserted.key) === inserted
  }
}

/** A rough size of a value in bytes, for `maxBytes` when no size function is given (bounded walk). */
export function estimateBytes(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return 16 + value.length * 2
    case 'number':
    case 'bigint':
      return 8
    case 'boolean':
    case 'undefined':
      return 4
    case 'object': {
      if (value === null) return 4
      if (ArrayBuffer.isView(value)) return 32 + value.byteLength
      if (depth > 4) return 64
      let total = 32
      if (Array.isArray(value)) for (const item of value) total += 8 + estimateBytes(item, depth + 1)
      else for (const [k, v] of Object.entries(value)) total += 16 + k.length * 2 + estimateBytes(v, depth + 1)
      return total
    }
    default:
      return 32
  }
}
