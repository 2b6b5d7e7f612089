import { Actor } from '../../runtime/index.ts'
import { CacheBadCallError } from '../errors.ts'
import { CacheCore } from './CacheCore.ts'
import { CacheMetrics } from './CacheMetrics.ts'
import { resolveCacheOptions, type CacheOptions, type Loader } from './CacheOptions.ts'
import type { CacheStats } from './CacheStats.ts'
import { CacheView } from './CacheView.ts'
import { Loads, type LoadOptions } from './Loads.ts'
import { Writes, type InvalidateTarget, type SetOptions, type WriteResult } from './Writes.ts'

export interface CacheProtocol<V = unknown> {
  /** L1, then L2; never loads. Undefined on a miss (or a cached "not found"). An L1 hit answers synchronously (no promise). */
  get(key: string): V | undefined | Promise<V | undefined>
  /**
   * L1, then L2, then one load per key on this shard however many callers miss together. The loader
   * runs in this actor's system: pass a function only from the same system; callers elsewhere rely
   * on the cache's `loader` option.
   */
  getOrLoad(key: string, loader?: Loader<V> | null, options?: LoadOptions): Promise<V | undefined>
  set(key: string, value: V, options?: SetOptions): Promise<WriteResult>
  delete(key: string): Promise<WriteResult>
  /** Drops a key, every key with a prefix, or every key with a tag: here, in L2, and (over the bus) in every node's L1. */
  invalidate(target: InvalidateTarget): Promise<WriteResult>
  stats(): CacheStats
  /** Timer: generation check, queued writes, Bloom rebuild. */
  sync(): Promise<void>
}

const fail = (method: string, message: string): Promise<never> => Promise.reject(new CacheBadCallError(`cache ${method}: ${message}`, { data: { method } }))
const badKey = (key: unknown): boolean => typeof key !== 'string' || key.length === 0 || key.length > 1024

/**
 * A two-tier cache as an actor: one per named cache per shard, under a supervisor. It owns its L1
 * (an O(1) LRU or W-TinyLFU bounded by entries and bytes) and shares an L2 (CacheL2Store: Redis or
 * its twin) and an invalidation bus with the same cache on other shards and nodes.
 *
 * Reentrant: L2 round trips and loads are awaited without holding the actor's turn; all state
 * changes happen synchronously between awaits, so each is atomic. An L2 or bus failure never fails
 * the actor (no restart loop while Redis is down): it is counted and answered from L1, the loader
 * or a stale value. A restart starts with an empty L1 (the view rebinds to it).
 */
export class Cache<V = unknown> extends Actor<CacheProtocol<V>> implements CacheProtocol<V> {
  static readonly reentrant = true
  private readonly core: CacheCore<V>
  private readonly writes: Writes<V>
  private readonly loads: Loads<V>
  private readonly view: CacheView<V>
  private unsubscribe: (() => void) | null = null
  private unregister: (() => void) | null = null
  private readonly metrics: CacheMetrics | null

  constructor(options: CacheOptions<V>) {
    super()
    const resolved = resolveCacheOptions(options)
    const { system, self } = this.context
    const origin = resolved.origin ?? `${system.name}.${self.address.node}.${self.address.shard}.${Math.floor(system.random.next() * 2 ** 32).toString(36)}`
    this.core = new CacheCore(resolved, system.clock, system.random, origin)
    this.writes = new Writes(this.core)
    this.loads = new Loads(this.core, this.writes)
    this.view = CacheView.of<V>(system, resolved.name)
    this.metrics = options.metrics ?? (options.registry === undefined ? null : CacheMetrics.of(options.registry))
  }

  override async preStart(): Promise<void> {
    this.view.bind(this.core.l1, this.core.stats, (key) => this.get(key))
    this.unregister = this.metrics?.add(() => this.core.snapshot()) ?? null
    const bus = this.core.o.bus
    if (bus !== null) this.unsubscribe = bus.subscribe(this.core.o.name, (m) => this.core.receive(m))
    if (this.core.o.l2 !== null) {
      await this.sync()
      this.context.timers.startPeriodic('sync', Math.min(this.core.o.syncIntervalMs, this.core.o.retryIntervalMs), 'sync')
    }
  }

  override preRestart(): void {
    this.detach()
  }

  override postStop(): void {
    this.detach()
  }

  private detach(): void {
    this.view.unbind(this.core.l1)
    this.unsubscribe?.()
    this.unsubscribe = null
    this.unregister?.()
    this.unregister = null
  }

  get(key: string): V | undefined | Promise<V | undefined> {
    if (badKey(key)) return fail('get', 'key must be a non-empty string of at most 1024 characters')
    const core = this.core
    // The clock is read only when L1 has an entry to judge: a cold key (or L1 off) goes to L2 without one.
    let node = core.l1.lookup(key)
    if (node !== undefined) {
      const now = core.clock.now()
      node = core.l1.touch(node, now)
      if (node !== undefined && node.freshUntil > now) return this.hit(node)
    }
    core.stats.l1Misses++
    return this.loads.joining(key) ?? core.readThrough(key, node ?? null)
  }

  getOrLoad(key: string, loader?: Loader<V> | null, options: LoadOptions = {}): Promise<V | undefined> {
    if (badKey(key)) return fail('getOrLoad', 'key must be a non-empty string of at most 1024 characters')
    const fn = loader ?? this.core.o.loader
    if (typeof fn !== 'function') return fail('getOrLoad', 'no loader: pass one or configure the cache with `loader`')
    const core = this.core
    const now = core.clock.now()
    const node = core.l1.get(key, now)
    if (node !== undefined && node.freshUntil > now) return Promise.resolve(this.hit(node))
    core.stats.l1Misses++
    const stale = node !== undefined && core.o.maxStaleMs > 0 ? node : null
    return this.loads.load(key, fn, options, stale)
  }

  set(key: string, value: V, options?: SetOptions): Promise<WriteResult> {
    if (badKey(key)) return fail('set', 'key must be a non-empty string of at most 1024 characters')
    return this.writes.set(key, value, options)
  }

  delete(key: string): Promise<WriteResult> {
    if (badKey(key)) return fail('delete', 'key must be a non-empty string of at most 1024 characters')
    return this.writes.invalidate({ key })
  }

  invalidate(target: InvalidateTarget): Promise<WriteResult> {
    const valid =
      typeof target === 'object' &&
      target !== null &&
      (('key' in target && !badKey(target.key)) || ('prefix' in target && typeof target.prefix === 'string') || ('tag' in target && typeof target.tag === 'string' && target.tag.length > 0))
    if (!valid) return fail('invalidate', 'target must be { key }, { prefix } or { tag }')
    return this.writes.invalidate(target)
  }

  stats(): CacheStats {
    return this.core.snapshot()
  }

  async sync(): Promise<void> {
    await this.core.checkGeneration()
    await this.writes.flush()
    await this.core.maybeRebuildBloom()
  }

  private hit(node: { value: V | undefined; negative: boolean }): V | undefined {
    this.core.stats.l1Hits++
    if (node.negative) this.core.stats.l1NegativeHits++
    return node.value
  }
}
