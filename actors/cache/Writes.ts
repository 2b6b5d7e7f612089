import type { CacheCore } from './CacheCore.ts'
import { encodePayload } from './CachePayload.ts'
import type { CacheNode } from './LruList.ts'

export interface SetOptions {
  readonly ttlMs?: number
  readonly tags?: readonly string[]
}

export type InvalidateTarget = { readonly key: string } | { readonly prefix: string } | { readonly tag: string }

/**
 * What became of a write in L2 (the caller always learns): `written`; `queued` (L2 failed, retried
 * in order later); `dropped` (L2 failed and the policy or a full queue dropped it, counted by
 * reason); `superseded` (a newer write reached L2 first, so this older one was not applied);
 * `none` (no L2). L1 of this shard is updated in every case.
 */
export interface WriteResult {
  readonly l2: 'written' | 'queued' | 'dropped' | 'superseded' | 'none'
  /** The key's version after the write (0 when L2 was not reached). */
  readonly version: number
}

/** One L2 operation, kept to be retried while L2 is down. */
export type L2Op =
  | { readonly op: 'write'; readonly key: string; readonly payload: Uint8Array; readonly ttlMs: number; readonly expected: number; readonly tags: readonly string[]; readonly node: CacheNode<unknown> | null }
  | { readonly op: 'delete'; readonly key: string }
  | { readonly op: 'prefix'; readonly key: string }
  | { readonly op: 'tag'; readonly key: string }

/**
 * The write side: L1 first (this shard sees its own write at once), then L2, then the bus. While L2
 * fails, operations queue (bounded, coalesced per key, retried in order) or drop by policy. A
 * queued write is a compare-and-set on the version this node last saw, so when it lands after the
 * outage it never overwrites a value another node wrote in between (it is dropped as `superseded`).
 */
export class Writes<V> {
  private readonly core: CacheCore<V>
  /** Coalesced: a later operation on the same target replaces an earlier one (and moves to the end). */
  private readonly queue = new Map<string, L2Op>()
  private flushing = false

  constructor(core: CacheCore<V>) {
    this.core = core
  }

  get queued(): number {
    return this.queue.size
  }

  async set(key: string, value: V, options: SetOptions = {}): Promise<WriteResult> {
    const core = this.core
    const ttl = core.jittered(options.ttlMs ?? core.o.ttlMs)
    const tags = options.tags ?? []
    const known = core.l1.peek(key)?.version ?? 0
    const node = core.node(key, value, false, ttl, core.o.maxStaleMs, known, tags.length === 0 ? null : tags)
    core.l1.put(node, core.clock.now())
    if (core.o.l2 === null) {
      core.publish('key', key, 0, 0, false)
      return { l2: 'none', version: 0 }
    }
    const payload = encodePayload(value, false, core.o.maxStaleMs, tags)
    return this.apply({ op: 'write', key, payload, ttlMs: ttl + core.o.maxStaleMs, expected: -1, tags, node: node as CacheNode<unknown> }, known)
  }

  /** A load's result: a compare-and-set on the version read before loading. */
  async fill(node: CacheNode<V>, base: number, ttlMs: number, staleMs: number, tags: readonly string[]): Promise<WriteResult> {
    const payload = encodePayload(node.value, node.negative, staleMs, tags)
    return this.apply({ op: 'write', key: node.key, payload, ttlMs: ttlMs + staleMs, expected: base, tags, node: node as CacheNode<unknown> }, base)
  }

  async invalidate(target: InvalidateTarget): Promise<WriteResult> {
    const core = this.core
    let op: L2Op
    if ('key' in target) {
      if (core.l1.delete(target.key) !== undefined) core.l1.counters.invalidated++
      op = { op: 'delete', key: target.key }
    } else if ('prefix' in target) {
      core.l1.deleteWhere((n) => n.key.startsWith(target.prefix))
      op = { op: 'prefix', key: target.prefix }
    } else {
      core.l1.deleteWhere((n) => n.tags !== null && n.tags.includes(target.tag))
      op = { op: 'tag', key: target.tag }
    }
    if (core.o.l2 === null) {
      core.publish(op.op === 'delete' ? 'key' : op.op, op.key, 0, 0, false)
      return { l2: 'none', version: 0 }
    }
    return this.apply(op, -1)
  }

  /** Retries queued operations in order; stops at the first failure (L2 still down). */
  async flush(): Promise<void> {
    if (this.flushing || this.queue.size === 0) return
    this.flushing = true
    try {
      for (const [slot, op] of this.queue) {
        try {
          await this.run(op)
        } catch {
          this.core.stats.l2Errors++
          return
        }
        if (this.queue.get(slot) === op) this.queue.delete(slot)
        this.core.stats.writesFlushed++
      }
    } finally {
      this.flushing = false
    }
  }

  private async apply(op: L2Op, known: number): Promise<WriteResult> {
    try {
      return await this.run(op)
    } catch {
      const core = this.core
      core.stats.l2Errors++
      // Other nodes must still drop their copies now; version 0 asks them to drop unconditionally.
      core.publish(op.op === 'write' || op.op === 'delete' ? 'key' : op.op, op.key, 0, 0, false)
      if (core.o.l2WritePolicy === 'drop') return this.dropped('policy_drop')
      const slot = op.op === 'write' || op.op === 'delete' ? `key:${op.key}` : `${op.op}:${op.key}`
      if (!this.queue.has(slot) && this.queue.size >= core.o.writeQueueMax) return this.dropped('queue_full')
      // An unconditional write queued in an outage becomes a compare-and-set on what this node last saw.
      const queued: L2Op = op.op === 'write' && op.expected === -1 ? { ...op, expected: Math.max(0, known) } : op
      this.queue.delete(slot)
      this.queue.set(slot, queued)
      core.stats.writesQueued++
      return { l2: 'queued', version: 0 }
    }
  }

  private dropped(reason: string): WriteResult {
    const d = this.core.stats.writesDropped
    d[reason] = (d[reason] ?? 0) + 1
    return { l2: 'dropped', version: 0 }
  }

  /** One L2 call and its consequences (L1 version, Bloom filter, bus). Throws when L2 fails. */
  private async run(op: L2Op): Promise<WriteResult> {
    const core = this.core
    const l2 = core.o.l2
    if (l2 === null) return { l2: 'none', version: 0 }
    switch (op.op) {
      case 'write': {
        const result = await l2.write(op.key, op.payload, op.ttlMs, op.expected, op.tags)
        const node = op.node as CacheNode<V> | null
        if (!result.written) {
          // Ours is older than what L2 holds: drop our copy, so the next read fills the newer one.
          if (node !== null && core.l1.peek(op.key) === node) core.l1.delete(op.key)
          this.dropped('superseded')
          return { l2: 'superseded', version: result.version }
        }
        if (node !== null && core.l1.peek(op.key) === node) node.version = result.version
        core.bloomAdd(op.key)
        core.publish('key', op.key, result.version, result.generation, true)
        return { l2: 'written', version: result.version }
      }
      case 'delete': {
        const result = await l2.delete(op.key)
        core.publish('key', op.key, result.version, result.generation, false)
        return { l2: 'written', version: result.version }
      }
      case 'prefix': {
        const result = await l2.deleteByPrefix(op.key)
        core.publish('prefix', op.key, 0, result.generation, false)
        return { l2: 'written', version: 0 }
      }
      case 'tag': {
        const result = await l2.deleteByTag(op.key)
        core.publish('tag', op.key, 0, result.generation, false)
        return { l2: 'written', version: 0 }
      }
    }
  }
}
