import { Packr } from 'msgpackr'
import { validateMsgpack } from '../../runtime/index.ts'

/**
 * One invalidation, as every node's L1 receives it. `seq` counts the origin's messages for this
 * cache (a gap means one was lost: the receiver heals at once); `generation` is the L2 generation
 * the change produced (0 when L2 was not reached), which the periodic generation check uses to heal
 * losses the receiver could not see by `seq` (the origin died right after a lost message).
 */
export interface InvalidationMessage {
  readonly cache: string
  readonly origin: string
  readonly seq: number
  readonly generation: number
  /** `key`: one key (`version` orders it); `prefix` / `tag`: many; `clear`: the whole L1. */
  readonly kind: 'key' | 'prefix' | 'tag' | 'clear'
  readonly target: string
  /** For `key`: the key's version after the change; an L1 entry with an older version is dropped. */
  readonly version: number
  /** For `key`: the change left a value in L2 (a set), so receivers' Bloom filters add the key. */
  readonly exists: boolean
}

/**
 * The cluster invalidation port. Delivery is at most once and unordered between origins (NATS core
 * pub/sub): the cache's generation numbers turn a lost or late message into bounded staleness, and
 * versions keep a late message from dropping a newer value.
 */
export interface InvalidationBus {
  /** Fire and forget; a failure to publish is counted by the caller's generation check, not thrown. */
  publish(message: InvalidationMessage): void
  /** Delivers every message for `cache` (own ones included); returns the unsubscribe function. */
  subscribe(cache: string, handler: (message: InvalidationMessage) => void): () => void
}

const packr = new Packr({ useRecords: false, moreTypes: false })
const KINDS = ['key', 'prefix', 'tag', 'clear'] as const
const MAX_MESSAGE_BYTES = 64 * 1024

export function encodeInvalidation(m: InvalidationMessage): Uint8Array {
  return packr.pack([1, m.cache, m.origin, m.seq, m.generation, KINDS.indexOf(m.kind), m.target, m.version, m.exists ? 1 : 0])
}

/** Decodes bytes from the bus as hostile: size, a msgpack pre-scan, then every field. Null when refused. */
export function decodeInvalidation(bytes: Uint8Array): InvalidationMessage | null {
  if (bytes.length === 0 || bytes.length > MAX_MESSAGE_BYTES) return null
  try {
    validateMsgpack(bytes, { maxDepth: 2 })
    const d = packr.unpack(bytes) as unknown
    if (!Array.isArray(d) || d.length !== 9 || d[0] !== 1) return null
    const [, cache, origin, seq, generation, kind, target, version, exists] = d as unknown[]
    if (typeof cache !== 'string' || typeof origin !== 'string' || typeof target !== 'string') return null
    if (!isCount(seq) || !isCount(generation) || !isCount(version) || (exists !== 0 && exists !== 1)) return null
    const k = KINDS[kind as number]
    if (k === undefined) return null
    return { cache, origin, seq, generation, kind: k, target, version, exists: exists === 1 }
  } catch {
    return null
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

/** Injected faults of the in-memory bus. */
export interface BusFaults {
  /** Returns true to lose this message on the way to `to` (a node id). */
  drop: ((message: InvalidationMessage, to: string) => boolean) | null
}

/**
 * The in-memory twin of NatsInvalidationBus: one hub stands for the NATS server, `bus(node)` for
 * one node's connection. Messages go through the codec (so hostile-bytes handling is the same)
 * and are delivered on a later microtask, never inside `publish`; `faults.drop` loses chosen ones.
 */
export class MemoryInvalidationHub {
  readonly faults: BusFaults = { drop: null }
  published = 0
  dropped = 0
  private readonly subscribers = new Set<{ node: string; cache: string; handler: (m: InvalidationMessage) => void }>()

  bus(node: string): InvalidationBus {
    return {
      publish: (message) => this.publish(message),
      subscribe: (cache, handler) => {
        const entry = { node, cache, handler }
        this.subscribers.add(entry)
        return () => {
          this.subscribers.delete(entry)
        }
      },
    }
  }

  private publish(message: InvalidationMessage): void {
    this.published++
    const bytes = encodeInvalidation(message)
    for (const sub of this.subscribers) {
      if (sub.cache !== message.cache) continue
      if (this.faults.drop !== null && this.faults.drop(message, sub.node)) {
        this.dropped++
        continue
      }
      // A later microtask, as a network would: never re-entrantly inside publish.
      void Promise.resolve().then(() => {
        const decoded = decodeInvalidation(bytes)
        if (decoded !== null && this.subscribers.has(sub)) sub.handler(decoded)
      })
    }
  }
}
