import type { Redis } from 'ioredis'
import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { DeadlineQueue } from '../clients/DeadlineQueue.ts'
import type { RedisFastPath } from '../clients/RedisFastPath.ts'
import { CacheInvalidConfigError, CacheL2UnavailableError } from '../errors.ts'
import type { CacheL2Store, L2DeleteResult, L2Read, L2WriteResult } from './CacheL2Store.ts'
import { PAYLOAD_FORMAT, PAYLOAD_HEADER_BYTES } from './CachePayload.ts'
import { fastPathConnection, ioredisConnection, type L2Connection } from './RedisL2Connection.ts'

export interface RedisCacheL2Options {
  /**
   * The connection, one of two. `client`: a RedisClient actor's same-shard fast path
   * (`RedisFastPath.of(system, name)`), so the cache shares its connection, breaker, health and
   * reconnection under supervision, with no message per call. `redis`: a connected ioredis client
   * of your own (not a Cluster: tag and prefix scripts compute keys), never closed by the store.
   */
  readonly client?: RedisFastPath
  readonly redis?: Redis
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

/** Escapes the glob metacharacters of SCAN MATCH, so a user prefix matches literally. */
const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

/** Redis's clock is sampled again after this long; between samples the bound widens by DRIFT per ms. */
const RECALIBRATE_MS = 1_000
/** Clock rates may differ (NTP slewing is at most 500 ppm); counted twice over. */
const DRIFT = 1e-3
/** Redis keeps expiry in whole milliseconds. */
const MARGIN_MS = 1

/**
 * The Redis L2. A value is stored with a header holding its version and its absolute expiry on
 * Redis's clock (the write script fills both and sets the key with PXAT), so a hit is one plain
 * GET: no script, no PTTL, no second key. The remaining TTL is the expiry minus an upper bound of
 * Redis's clock now, from a TIME sample taken at most ~1 s ago (the sample's send time, so the
 * round trip counts against the TTL, plus drift): an L1 copy never outlives the L2 entry. A miss
 * makes a second GET, of the version counter, which a load's compare-and-set needs.
 *
 * Every multi-step write is one Lua script. Every failure, timeout included, is
 * ERR_CACHE_L2_UNAVAILABLE; the cache decides what that means (serve L1, queue or drop the write).
 */
export class RedisCacheL2 implements CacheL2Store {
  private readonly conn: L2Connection
  private readonly prefix: string
  private readonly clock: Clock
  private readonly timeoutMs: number
  private readonly retentionMs: number
  private readonly inFlight = new DeadlineQueue<Pending>()
  private watchdog: TimerHandle | null = null
  /** The last sample of Redis's clock: its reading, and our clock when the request left. */
  private redisAt = 0
  private localAt = Number.NaN
  private calibrating: Promise<void> | null = null

  constructor(options: RedisCacheL2Options) {
    if ((options.client === undefined) === (options.redis === undefined)) {
      throw new CacheInvalidConfigError('RedisCacheL2 needs exactly one connection: `client` (a RedisFastPath) or `redis` (an ioredis client)', { data: { problems: ['client or redis'] } })
    }
    this.conn = options.client !== undefined ? fastPathConnection(options.client) : ioredisConnection(options.redis as Redis)
    this.prefix = options.prefix
    this.clock = options.clock
    this.timeoutMs = options.commandTimeoutMs ?? 500
    this.retentionMs = options.versionRetentionMs ?? 600_000
  }

  read(key: string): Promise<L2Read> {
    // One clock read serves the calibration check and the call's deadline.
    const now = this.clock.now()
    if (!(now - this.localAt < RECALIBRATE_MS)) {
      // First read: wait for a sample. Later: refresh in the background; the old one (widened by drift) serves meanwhile.
      if (Number.isNaN(this.localAt)) return this.calibrate().then(() => this.read(key))
      if (this.calibrating === null) this.calibrate().catch(() => {})
    }
    // The hit is one promise layer: the reply is mapped where the call settles (each extra layer costs a turn of the microtask queue).
    return this.track('read', this.conn.getBuffer(this.k('v', key)), now, key)
  }

  private hit(bytes: Buffer | null): L2Read | null {
    if (bytes === null || bytes.length <= PAYLOAD_HEADER_BYTES || bytes[0] !== PAYLOAD_FORMAT) return null
    const version = bytes.readDoubleBE(1)
    if (!Number.isSafeInteger(version) || version <= 0) return null
    const ttlMs = bytes.readDoubleBE(9) - this.redisNow()
    // Past the bound the value may already be gone: a miss. Its version is the key's (a write sets both, a delete removes the value).
    return ttlMs > 0 ? { record: { payload: bytes, ttlMs, version }, version } : { record: null, version }
  }

  /** No value (or bytes without our header): the version counter is the base a load's compare-and-set needs. */
  private miss(key: string, bytes: Buffer | null): Promise<L2Read> {
    return this.call('read', this.conn.get(this.k('n', key))).then((raw) => {
      const version = raw === null ? 0 : Number(raw)
      if (!Number.isSafeInteger(version) || version < 0) throw this.failure('read', new Error(`malformed version counter ${JSON.stringify(raw)}`))
      // Bytes this cache did not write (an older format, or foreign): the decoder refuses them (counted), the next write replaces them.
      return bytes === null ? { record: null, version } : { record: { payload: bytes, ttlMs: 1, version }, version }
    })
  }

  /** An upper bound of Redis's clock now (ms): the sample, plus all the time since the request left, plus drift. */
  private redisNow(): number {
    const age = this.clock.now() - this.localAt
    return this.redisAt + age * (1 + DRIFT) + MARGIN_MS
  }

  private calibrate(): Promise<void> {
    if (this.calibrating !== null) return this.calibrating
    const sentAt = this.clock.now()
    this.calibrating = this.call('time', this.conn.time())
      .then(([seconds, micros]) => {
        const at = Number(seconds) * 1000 + Number(micros) / 1000
        if (!Number.isFinite(at)) throw this.failure('time', new Error('malformed TIME reply'))
        this.redisAt = at
        this.localAt = sentAt
      })
      .finally(() => {
        this.calibrating = null
      })
    return this.calibrating
  }

  async write(key: string, payload: Uint8Array, ttlMs: number, expectedVersion: number, tags: readonly string[]): Promise<L2WriteResult> {
    const keys = [this.k('v', key), this.k('n', key), `${this.prefix}gen`, ...tags.map((t) => this.k('t', t))]
    const px = Math.max(1, Math.ceil(ttlMs))
    const reply = (await this.call('write', this.conn.script('troupeCacheWrite', keys, [Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), px, expectedVersion, this.retentionMs, key]))) as number[]
    return { written: Number(reply[0]) === 1, version: Number(reply[1]), generation: Number(reply[2]) }
  }

  async delete(key: string): Promise<L2DeleteResult & { version: number }> {
    const reply = (await this.call('delete', this.conn.script('troupeCacheDelete', [this.k('v', key), this.k('n', key), `${this.prefix}gen`], [this.retentionMs]))) as number[]
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
      const reply = (await this.call('deleteByPrefix', this.conn.script('troupeCacheDeleteMany', [`${this.prefix}gen`], [this.prefix, this.retentionMs, last ? '1' : '0', ...batch]))) as number[]
      deleted += Number(reply[0])
      generation = Number(reply[1])
    }
    return { keys: deleted, generation }
  }

  async deleteByTag(tag: string): Promise<L2DeleteResult> {
    const reply = (await this.call('deleteByTag', this.conn.script('troupeCacheDeleteTag', [this.k('t', tag), `${this.prefix}gen`], [this.prefix, this.retentionMs]))) as number[]
    return { keys: Number(reply[0]), generation: Number(reply[1]) }
  }

  async generation(): Promise<number> {
    return Number((await this.call('generation', this.conn.get(`${this.prefix}gen`))) ?? 0)
  }

  keys(limit: number): Promise<string[]> {
    return this.scan(`${escapeGlob(this.prefix)}v:*`, limit)
  }

  async lock(key: string, ttlMs: number): Promise<number> {
    return Number(await this.call('lock', this.conn.script('troupeCacheLock', [this.k('l', key), `${this.prefix}fence`], [Math.max(1, Math.ceil(ttlMs))])))
  }

  async unlock(key: string, token: number): Promise<boolean> {
    return Number(await this.call('unlock', this.conn.script('troupeCacheUnlock', [this.k('l', key)], [String(token)]))) === 1
  }

  private k(kind: 'v' | 'n' | 't' | 'l', key: string): string {
    return `${this.prefix}${kind}:${key}`
  }

  private async scan(match: string, limit: number): Promise<string[]> {
    const strip = this.prefix.length + 2
    const out: string[] = []
    let cursor = '0'
    do {
      const [next, found] = (await this.call('scan', this.conn.scan(cursor, match, 500))) as [string, string[]]
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
    return this.track(op, pending, this.clock.now(), null) as Promise<T>
  }

  /**
   * `call`'s body. A read (`key` set) is answered as an L2Read where the reply lands, so a hit costs
   * one promise layer over the connection's and one object for the bookkeeping (the Pending holds
   * the handlers' state; no mapping closure per read).
   */
  private track(op: string, pending: Promise<unknown>, now: number, key: string | null): Promise<any> {
    const entry = new Pending(this, op, now + this.timeoutMs, key)
    const promise = new Promise<unknown>((resolve, reject) => {
      entry.resolve = resolve
      entry.reject = reject
    })
    this.inFlight.push(entry)
    this.arm()
    pending.then(
      (value) => entry.settle(value),
      (error: unknown) => entry.fail(error),
    )
    return promise
  }

  /** @internal A Pending's answer: a read's reply becomes an L2Read (a miss reads the version counter). */
  answer(entry: Pending, value: unknown): unknown {
    const key = entry.key
    if (key === null) return value
    const bytes = value as Buffer | null
    return this.hit(bytes) ?? this.miss(key, bytes)
  }

  /** @internal */
  settled(entry: Pending): void {
    this.inFlight.settled(entry)
  }

  /** @internal Every failure, typed. */
  failure(op: string, cause: unknown): CacheL2UnavailableError {
    return new CacheL2UnavailableError(`L2 ${op} failed: ${String((cause as Error)?.message ?? cause)}`, { cause, data: { cache: this.prefix, op } })
  }

  private arm(): void {
    if (this.watchdog !== null) return
    this.watchdog = this.clock.setTimer(Math.max(1, this.timeoutMs / 4), () => {
      this.watchdog = null
      const now = this.clock.now()
      for (let entry = this.inFlight.expired(now); entry !== null; entry = this.inFlight.expired(now)) {
        entry.fail(new Error(`no answer within ${this.timeoutMs} ms`))
      }
      if (this.inFlight.size > 0) this.arm()
    })
  }
}

/** One call in flight: settles once (its answer, its failure or the watchdog's timeout, whichever comes first). */
class Pending {
  readonly store: RedisCacheL2
  readonly op: string
  readonly deadline: number
  /** The key of a read (its reply is mapped to an L2Read); null for any other call. */
  readonly key: string | null
  resolve: (value: unknown) => void = noop
  reject: (error: Error) => void = noop
  done = false

  constructor(store: RedisCacheL2, op: string, deadline: number, key: string | null) {
    this.store = store
    this.op = op
    this.deadline = deadline
    this.key = key
  }

  settle(value: unknown): void {
    if (this.done) return
    const resolve = this.resolve
    const reject = this.reject
    this.release()
    try {
      resolve(this.store.answer(this, value))
    } catch (error) {
      reject(error as Error)
    }
  }

  fail(cause: unknown): void {
    if (this.done) return
    const reject = this.reject
    this.release()
    reject(this.store.failure(this.op, cause))
  }

  /** Marks the call settled and lets go of its promise: a settled entry may wait in the queue behind an older call. */
  private release(): void {
    this.done = true
    this.resolve = noop
    this.reject = noop
    this.store.settled(this)
  }
}

const noop = (): void => {}
