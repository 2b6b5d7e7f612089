import type { Clock } from '../../runtime/index.ts'
import { CacheL2UnavailableError } from '../errors.ts'
import type { CacheL2Store, L2DeleteResult, L2Read, L2WriteResult } from './CacheL2Store.ts'

interface Stored {
  payload: Uint8Array
  expiresAt: number
  tags: readonly string[]
}

/** Injected faults of the twin: what a Redis outage or a slow Redis looks like to the cache. */
export interface L2Faults {
  /** Every call fails with ERR_CACHE_L2_UNAVAILABLE while true. */
  down: boolean
  /** Each call answers after this many ms of the clock (0: on the next microtask). */
  latencyMs: number
}

/**
 * The in-memory twin of RedisCacheL2 for the simulator and virtual-time tests: the same port and
 * semantics (version counters that outlive values, compare-and-set, generation, PX TTLs on the
 * injected clock, lock with fencing tokens), with faults injected through `faults`. One instance
 * shared by several caches stands for one Redis shared by several nodes.
 */
export class MemoryCacheL2 implements CacheL2Store {
  readonly faults: L2Faults = { down: false, latencyMs: 0 }
  /** Calls answered, by operation (tests count round trips with it). */
  readonly calls: Record<string, number> = {}
  private readonly clock: Clock
  private readonly values = new Map<string, Stored>()
  private readonly versions = new Map<string, { version: number; expiresAt: number }>()
  private readonly locks = new Map<string, { token: number; expiresAt: number }>()
  private readonly versionRetentionMs: number
  private gen = 0
  private fence = 0

  constructor(clock: Clock, options: { versionRetentionMs?: number } = {}) {
    this.clock = clock
    this.versionRetentionMs = options.versionRetentionMs ?? 600_000
  }

  read(key: string): Promise<L2Read> {
    return this.op('read', () => {
      const now = this.clock.now()
      const stored = this.live(key, now)
      const version = this.versionOf(key, now)
      return { record: stored === null ? null : { payload: stored.payload, ttlMs: Math.max(1, Math.ceil(stored.expiresAt - now)), version }, version }
    })
  }

  write(key: string, payload: Uint8Array, ttlMs: number, expectedVersion: number, tags: readonly string[]): Promise<L2WriteResult> {
    return this.op('write', () => {
      const now = this.clock.now()
      const current = this.versionOf(key, now)
      if (expectedVersion >= 0 && current !== expectedVersion && current !== 0) return { written: false, version: current, generation: this.gen }
      const version = Math.max(current, expectedVersion) + 1
      this.values.set(key, { payload, expiresAt: now + ttlMs, tags })
      this.versions.set(key, { version, expiresAt: now + ttlMs + this.versionRetentionMs })
      return { written: true, version, generation: ++this.gen }
    })
  }

  delete(key: string): Promise<L2DeleteResult & { version: number }> {
    return this.op('delete', () => {
      const now = this.clock.now()
      const existed = this.live(key, now) !== null
      this.values.delete(key)
      const version = this.versionOf(key, now) + 1
      this.versions.set(key, { version, expiresAt: now + this.versionRetentionMs })
      return { keys: existed ? 1 : 0, version, generation: ++this.gen }
    })
  }

  deleteByPrefix(prefix: string): Promise<L2DeleteResult> {
    return this.op('deleteByPrefix', () => this.deleteMatching((key) => key.startsWith(prefix)))
  }

  deleteByTag(tag: string): Promise<L2DeleteResult> {
    return this.op('deleteByTag', () => this.deleteMatching((_, stored) => stored.tags.includes(tag)))
  }

  generation(): Promise<number> {
    return this.op('generation', () => this.gen)
  }

  keys(limit: number): Promise<string[]> {
    return this.op('keys', () => {
      const now = this.clock.now()
      const out: string[] = []
      for (const key of this.values.keys()) if (this.live(key, now) !== null && out.length < limit) out.push(key)
      return out
    })
  }

  lock(key: string, ttlMs: number): Promise<number> {
    return this.op('lock', () => {
      const now = this.clock.now()
      const held = this.locks.get(key)
      if (held !== undefined && held.expiresAt > now) return 0
      const token = ++this.fence
      this.locks.set(key, { token, expiresAt: now + ttlMs })
      return token
    })
  }

  unlock(key: string, token: number): Promise<boolean> {
    return this.op('unlock', () => {
      const held = this.locks.get(key)
      if (held === undefined || held.token !== token) return false
      this.locks.delete(key)
      return true
    })
  }

  /** Fault: Redis restarted without persistence (values, versions, generation and locks lost). */
  loseEverything(): void {
    this.values.clear()
    this.versions.clear()
    this.locks.clear()
    this.gen = 0
  }

  private deleteMatching(match: (key: string, stored: Stored) => boolean): L2DeleteResult {
    const now = this.clock.now()
    let keys = 0
    for (const [key, stored] of [...this.values]) {
      if (stored.expiresAt <= now || !match(key, stored)) continue
      this.values.delete(key)
      this.versions.set(key, { version: this.versionOf(key, now) + 1, expiresAt: now + this.versionRetentionMs })
      keys++
    }
    return { keys, generation: ++this.gen }
  }

  private live(key: string, now: number): Stored | null {
    const stored = this.values.get(key)
    if (stored === undefined) return null
    if (stored.expiresAt <= now) {
      this.values.delete(key)
      return null
    }
    return stored
  }

  private versionOf(key: string, now: number): number {
    const v = this.versions.get(key)
    if (v === undefined) return 0
    if (v.expiresAt <= now) {
      this.versions.delete(key)
      return 0
    }
    return v.version
  }

  /** Runs `fn` as Redis would answer: asynchronously, after the injected latency, or failing while down. */
  private op<T>(name: string, fn: () => T): Promise<T> {
    this.calls[name] = (this.calls[name] ?? 0) + 1
    const run = (): T => {
      if (this.faults.down) throw new CacheL2UnavailableError(`L2 twin is down (${name})`, { data: { cache: 'memory', op: name } })
      return fn()
    }
    if (this.faults.latencyMs <= 0) return Promise.resolve().then(run)
    return new Promise<T>((resolve, reject) => {
      this.clock.setTimer(this.faults.latencyMs, () => {
        try {
          resolve(run())
        } catch (error) {
          reject(error as Error)
        }
      })
    })
  }
}
