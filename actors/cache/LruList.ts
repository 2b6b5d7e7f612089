/**
 * One node per L1 entry: the entry's fields and its list links in one object, so a hit costs a map
 * lookup and four pointer writes, and nothing is allocated (the reference design scanned every
 * entry to find an "LRU" victim that was really LFU, and evicted new entries first).
 */
export interface CacheNode<V = unknown> {
  readonly key: string
  value: V | undefined
  /** A cached "not found" (negative caching): `value` is undefined. */
  negative: boolean
  /** Estimated bytes (the size function's answer), counted against `maxBytes`. */
  bytes: number
  /** Clock time (ms) until which the value is fresh. */
  freshUntil: number
  /** Clock time (ms) until which the value may still be served stale (fail-safe / SWR); ≥ freshUntil. */
  staleUntil: number
  /** The key's version in L2 (0: never written there); orders writes and invalidations. */
  version: number
  tags: readonly string[] | null
  /** Which list holds it: 0 none, 1 window, 2 main (W-TinyLFU); plain LRU uses 2 only. */
  segment: number
  prev: CacheNode<V> | null
  next: CacheNode<V> | null
}

/** An intrusive doubly linked list, most recently used at the head. O(1) everything. */
export class LruList<V> {
  head: CacheNode<V> | null = null
  tail: CacheNode<V> | null = null
  length = 0
  bytes = 0

  pushFront(node: CacheNode<V>): void {
    node.prev = null
    node.next = this.head
    if (this.head !== null) this.head.prev = node
    this.head = node
    if (this.tail === null) this.tail = node
    this.length++
    this.bytes += node.bytes
  }

  unlink(node: CacheNode<V>): void {
    if (node.prev !== null) node.prev.next = node.next
    else this.head = node.next
    if (node.next !== null) node.next.prev = node.prev
    else this.tail = node.prev
    node.prev = null
    node.next = null
    this.length--
    this.bytes -= node.bytes
  }

  moveToFront(node: CacheNode<V>): void {
    if (this.head === node) return
    this.unlink(node)
    this.pushFront(node)
  }

  /** Keys from most to least recently used (tests and debugging). */
  keys(): string[] {
    const out: string[] = []
    for (let node = this.head; node !== null; node = node.next) out.push(node.key)
    return out
  }
}
