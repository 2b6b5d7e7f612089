import type { ActorSystem, Clock } from '../../runtime/index.ts'
import type { CacheNode } from './LruList.ts'
import type { L1Store } from './L1Store.ts'
import type { CacheStats } from './CacheStats.ts'

interface Binding<V> {
  readonly l1: L1Store<V>
  readonly stats: CacheStats
  /** The actor's own `get` (L1, a load in flight, then L2), called in place: same thread, no message. */
  readonly get: (key: string) => V | undefined | Promise<V | undefined>
}

/**
 * The synchronous read view of a cache's L1 for callers on the same shard (the same ActorSystem,
 * so the same thread): a fresh hit costs a map lookup and no message; `read` also answers an L2 hit
 * without a message. A load and every write go through the actor (`getOrLoad`, `set`, …).
 *
 * The view is one stable object per (system, cache name); the actor binds it to its L1 when it
 * starts and unbinds it when it stops or restarts, so a caller may keep it. While unbound, every
 * lookup is a miss.
 */
export class CacheView<V = unknown> {
  readonly name: string
  private readonly clock: Clock
  private binding: Binding<V> | null = null
  private now = 0
  private budget = 0
  private armed = false

  constructor(name: string, clock: Clock) {
    this.name = name
    this.clock = clock
  }

  /** The view of cache `name` on `system` (created unbound on first use). */
  static of<V = unknown>(system: ActorSystem, name: string): CacheView<V> {
    let byName = views.get(system)
    if (byName === undefined) {
      byName = new Map()
      views.set(system, byName)
    }
    let view = byName.get(name)
    if (view === undefined) {
      view = new CacheView(name, system.clock)
      byName.set(name, view)
    }
    return view as CacheView<V>
  }

  get bound(): boolean {
    return this.binding !== null
  }

  /** A fresh value, or undefined (a miss, stale, or a cached "not found": use `lookup` to tell them apart). */
  get(key: string): V | undefined {
    return this.lookup(key)?.value
  }

  /**
   * A fresh L1 hit (synchronously), else the actor's L2 read without a message: the actor's `get`
   * runs in place (same thread; its state changes are synchronous, so this is as atomic as a
   * message). Never loads. While unbound: undefined.
   */
  read(key: string): V | undefined | Promise<V | undefined> {
    const node = this.lookup(key)
    if (node !== undefined) return node.value
    return this.binding === null ? undefined : this.binding.get(key)
  }

  /** The fresh entry (read-only: `value`, `negative`, `version`), or undefined; then ask the actor. */
  lookup(key: string): Readonly<CacheNode<V>> | undefined {
    const b = this.binding
    if (b === null) return undefined
    const now = this.time()
    const node = b.l1.get(key, now)
    if (node === undefined || node.freshUntil <= now) return undefined
    b.stats.l1Hits++
    b.stats.viewHits++
    if (node.negative) b.stats.l1NegativeHits++
    return node
  }

  /**
   * The clock, read at most once per 1,024 lookups and at the first lookup of each turn: a clock
   * read costs several map lookups, and within one synchronous stretch of under 1,024 lookups
   * (well under a millisecond) time may stand still without breaking millisecond TTLs.
   */
  private time(): number {
    if (this.budget-- > 0) return this.now
    this.now = this.clock.now()
    this.budget = 1023
    if (!this.armed) {
      this.armed = true
      void Promise.resolve().then(this.endTurn)
    }
    return this.now
  }

  private readonly endTurn = (): void => {
    this.budget = 0
    this.armed = false
  }

  /** @internal The actor's side. */
  bind(l1: L1Store<V>, stats: CacheStats, get: (key: string) => V | undefined | Promise<V | undefined>): void {
    this.binding = { l1, stats, get }
  }

  /** @internal Unbinds only if `l1` is still the bound store (a successor may have bound already). */
  unbind(l1: L1Store<V>): void {
    if (this.binding?.l1 === l1) this.binding = null
  }
}

const views = new WeakMap<ActorSystem, Map<string, CacheView<unknown>>>()
