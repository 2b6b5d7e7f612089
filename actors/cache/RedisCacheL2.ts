import type { Redis } from 'ioredis'
import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { CacheL2UnavailableError } from '../errors.ts'
import type { CacheL2Store, L2DeleteResult, L2Read, L2WriteResult } from './CacheL2Store.ts'
import { DELETE, DELETE_MANY, DELETE_TAG, LOCK, READ, UNLOCK, WRITE } from './cacheScripts.ts'

export interface RedisCacheL2Options {
  /** A connected ioredis client (not a Cluster: tag and prefix scripts compute keys). Never closed by the store. */
  readonly redis: Redis
  /** Prepended to every key; one prefix per named cache. Default `troupe:cache:<name>:`. */
  readonly prefix: string
  readonly clock: Clock
  /**
   * A call not answered within this long fails with ERR_CACHE_L2_UNAVAILABLE (ioredis may hold it
   * in its offline queue for the whole outage otherwise). Default 500.
   */
  readonly commandTimeoutMs?: number
  /** How long a version counter outlives its value or a delete; a load slower than this after a delete could land. Default 600 000. */
  readonly versionRetentionMs?: number
}

const SPACE = 0x20

type Script = (...args: (string | number | Buffer | Uint8Array)[]) => Promise<unknown>

const SCRIPTS = { troupeCacheRead: READ, troupeCacheWrite: WRITE, troupeCacheDelete: DELETE, troupeCacheDeleteMany: DELETE_MANY, troupeCacheDeleteTag: DELETE_TAG, troupeCacheLock: LOCK, troupeCacheUnlock: UNLOCK }

/** Glob metacharacters of SCAN MATCH, escaped so a user prefix matches literally. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

/**
 * The Redis L2: values under `SET … PX` (milliseconds), every multi-step operation one Lua script
 * (EVALSHA with EVAL fallback, through ioredis `defineCommand`). Reads answer value, PTTL and
 * version in one round trip. Every failure, timeout included, is ERR_CACHE_L2_UNAVAILABLE; the
 * cache decides what that means (serve L1, queue or drop the write).
 */
export class RedisCacheL2 implements CacheL2Store {
  private readonly redis: Redis
  private readonly prefix: string
  private readonly clock: Clock
  private readonly timeoutMs: number
  private readonly retentionMs: number
  private readonly script: Record<keyof typeof SCRIPTS, Script>
  private readonly inFlight = new Set<Pending>()
  private watchdog: TimerHandle | null = null

  constructor(options: RedisCacheL2Options) {
    this.redis = options.redis
    this.prefix = options.prefix
    this.clock = options.clock
    this.timeoutMs = options.commandTimeoutMs ?? 500
    this.retentionMs = options.versionRetentionMs ?? 600_000
    const client = options.redis as unknown as Record<string, unknown> & { defineCommand(name: string, d: { lua: string }): void }
    const script = {} as Record<keyof typeof SCRIPTS, Script>
    for (const [name, lua] of Object.entries(SCRIPTS) as [keyof typeof SCRIPTS, string][]) {
      if (typeof client[name] !== 'function') client.defineCommand(name, { lua })
      // The Buffer variant keeps payload bytes binary (ioredis would decode them as UTF-8 otherwise).
      const fn = (client[`${name}Buffer`] ?? client[name]) as Script
      script[name] = (...args) => fn.call(client, ...args)
    }
    this.script = script
  }

  async read(key: string): Promise<L2Read> {
    const reply = (await this.call('read', this.script.troupeCacheRead(2, this.k('v', key), this.k('n', key)))) as Buffer
    const first = reply.indexOf(SPACE)
    if (first < 0) return { record: null, version: Number(reply.toString('latin1')) }
    const second = reply.indexOf(SPACE, first + 1)
    const version = Number(reply.toString('latin1', 0, first))
    const ttlMs = Number(reply.toString('latin1', first + 1, second))
    if (second < 0 || !Number.isSafeInteger(version) || !Number.isSafeInteger(ttlMs)) throw this.fail('read', new Error('malformed read reply'))
    return { record: { payload: reply.subarray(second + 1), ttlMs: Math.max(1, ttlMs), version }, version }
  }

  async write(key: string, payload: Uint8Array, ttlMs: number, expectedVersion: number, tags: readonly string[]): Promise<L2WriteResult> {
    const keys = [this.k('v', key), this.k('n', key), `${this.prefix}gen`, ...tags.map((t) => this.k('t', t))]
    const px = Math.max(1, Math.ceil(ttlMs))
    const reply = (await this.call('write', this.script.troupeCacheWrite(keys.length, ...keys, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), px, expectedVersion, this.retentionMs, key))) as number[]
    return { written: Number(reply[0]) === 1, version: Number(reply[1]), generation: Number(reply[2]) }
  }

  async delete(key: string): Promise<L2DeleteResult & { version: number }> {
    const reply = (await this.call('delete', this.script.troupeCacheDelete(3, this.k('v', key), this.k('n', key), `${this.prefix}gen`, this.retentionMs))) as number[]
    return { keys: Number(reply[0]), version: Number(reply[1]), generation: Number(reply[2]) }
  }

  async deleteByPrefix(prefix: string): Promise<L2DeleteResult> {
    const keys = await this.scan(`${escapeGlob(this.prefix)}v:${escapeGlob(prefix)}*`, Infinity)
    let deleted = 0
    let generation = 0
    // Batches of 256 keys per script call keep each call short (Redis runs one script at a time); the last one bumps the generation.
    for (let i = 0; i === 0 || i < keys.length; i += 256) {
      const batch = keys.slice(i, i + 256)
      const last = i + 256 >= keys.length
      const reply = (await this.call('deleteByPrefix', this.script.troupeCacheDeleteMany(1, `${this.prefix}gen`, this.prefix, this.retentionMs, last ? '1' : '0', ...batch))) as number[]
      deleted += Number(reply[0])
      generation = Number(reply[1])
    }
    return { keys: deleted, generation }
  }

  async deleteByTag(tag: string): Promise<L2DeleteResult> {
    const reply = (await this.call('deleteByTag', this.script.troupeCacheDeleteTag(2, this.k('t', tag), `${this.prefix}gen`, this.prefix, this.retentionMs))) as number[]
    return { keys: Number(reply[0]), generation: Number(reply[1]) }
  }

  async generation(): Promise<number> {
    return Number((await this.call('generation', this.redis.get(`${this.prefix}gen`))) ?? 0)
  }

  keys(limit: number): Promise<string[]> {
    return this.scan(`${escapeGlob(this.prefix)}v:*`, limit)
  }

  async lock(key: string, ttlMs: number): Promise<number> {
    return Number(await this.call('lock', this.script.troupeCacheLock(2, this.k('l', key), `${this.prefix}fence`, Math.max(1, Math.ceil(ttlMs)))))
  }

  async unlock(key: string, token: number): Promise<boolean> {
    return Number(await this.call('unlock', this.script.troupeCacheUnlock(1, this.k('l', key), String(token)))) === 1
  }

  private k(kind: 'v' | 'n' | 't' | 'l', key: string): string {
    return `${this.prefix}${kind}:${key}`
  }

  private async scan(match: string, limit: number): Promise<string[]> {
    const strip = this.prefix.length + 2
    const out: string[] = []
    let cursor = '0'
    do {
      const [next, found] = (await this.call('scan', this.redis.scan(cursor, 'MATCH', match, 'COUNT', 500))) as [string, string[]]
      cursor = next
      for (const full of found) if (out.length < limit) out.push(full.slice(strip))
    } while (cursor !== '0' && out.length < limit)
    return out
  }

  /**
   * Bounds a call by the command timeout and types every failure. One watchdog timer serves every
   * call in flight (a host timer per call cost as much as the script itself).
   */
  private call<T>(op: string, pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { op, deadline: this.clock.now() + this.timeoutMs, reject, done: false }
      this.inFlight.add(entry)
      this.arm()
      pending.then(
        (value) => {
          if (entry.done) return
          entry.done = true
          this.inFlight.delete(entry)
          resolve(value)
        },
        (error: unknown) => {
          if (entry.done) return
          entry.done = true
          this.inFlight.delete(entry)
          reject(this.fail(op, error))
        },
      )
    })
  }

  private fail(op: string, cause: unknown): CacheL2UnavailableError {
    return new CacheL2UnavailableError(`L2 ${op} failed: ${String((cause as Error)?.message ?? cause)}`, { cause, data: { cache: this.prefix, op } })
  }

  private arm(): void {
    if (this.watchdog !== null) return
    this.watchdog = this.clock.setTimer(Math.max(1, this.timeoutMs / 4), () => {
      this.watchdog = null
      const now = this.clock.now()
      for (const entry of this.inFlight) {
        if (entry.deadline > now) continue
        entry.done = true
        this.inFlight.delete(entry)
        entry.reject(this.fail(entry.op, new Error(`no answer within ${this.timeoutMs} ms`)))
      }
      if (this.inFlight.size > 0) this.arm()
    })
  }
}

interface Pending {
  readonly op: string
  readonly deadline: number
  readonly reject: (error: Error) => void
  done: boolean
}
