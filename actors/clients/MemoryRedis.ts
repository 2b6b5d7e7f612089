import type { RedisArg } from './RedisClient.ts'

/**
 * The port a RedisClient talks to when it does not own an ioredis connection: one command at a
 * time, answered as `redis.call` would (or rejected). ioredis is the real implementation;
 * MemoryRedis below is the in-memory twin for the deterministic simulator (wrap it in testing's
 * SimulatedService for latency, timeouts, stalls and failures; its `down()` is an outage).
 */
export interface RedisConnectionPort {
  call(name: string, args: RedisArg[]): unknown
}

/** A Redis error reply, shaped like ioredis's ReplyError (the client maps it to ERR_REDIS_COMMAND). */
class ReplyError extends Error {
  override readonly name = 'ReplyError'
}

interface Entry {
  value: string
  /** Expiry instant on the twin's clock; Infinity: none. */
  expiresAt: number
}

/**
 * An in-memory Redis for the simulator: strings with millisecond expiry on an injected clock
 * (the simulation's), and the commands components and tests use: PING, GET, SET (PX, NX), INCR,
 * INCRBY, DEL, EXISTS, PEXPIRE, PTTL. Anything else is an `ERR unknown command` reply, a wrong
 * type a `WRONGTYPE` reply, as from a real server. Each call is atomic. No Lua: `eval`/`fenced`
 * answer the unknown-command reply.
 */
export class MemoryRedis implements RedisConnectionPort {
  /** Commands answered. */
  calls = 0
  private readonly now: () => number
  private readonly data = new Map<string, Entry>()
  private unreachable = false

  constructor(clock: { now(): number }) {
    this.now = () => clock.now()
  }

  /** Every call fails as on a lost connection until `up()`. */
  down(): void {
    this.unreachable = true
  }

  up(): void {
    this.unreachable = false
  }

  /** Forgets everything (a restart without persistence). */
  flush(): void {
    this.data.clear()
  }

  call(name: string, args: RedisArg[]): unknown {
    if (this.unreachable) throw Object.assign(new Error('connect ECONNREFUSED (MemoryRedis is down)'), { code: 'ECONNREFUSED' })
    this.calls++
    const a = args.map((x) => (Buffer.isBuffer(x) ? x.toString() : String(x)))
    switch (name.toUpperCase()) {
      case 'PING':
        return 'PONG'
      case 'GET':
        return this.live(need(a, 1)[0])?.value ?? null
      case 'SET': {
        const [key, value] = need(a, 2) as [string, string]
        let px = Infinity
        let nx = false
        for (let i = 2; i < a.length; i++) {
          const opt = (a[i] as string).toUpperCase()
          if (opt === 'PX') px = whole(a[++i])
          else if (opt === 'NX') nx = true
          else throw new ReplyError('ERR syntax error')
        }
        if (nx && this.live(key) !== undefined) return null
        this.data.set(key, { value, expiresAt: this.now() + px })
        return 'OK'
      }
      case 'INCR':
      case 'INCRBY': {
        const [key] = need(a, 1)
        const by = name.toUpperCase() === 'INCR' ? 1 : whole(a[1], true)
        const entry = this.live(key)
        const current = entry === undefined ? 0 : Number(entry.value)
        if (!Number.isInteger(current)) throw new ReplyError('ERR value is not an integer or out of range')
        const next = current + by
        this.data.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? Infinity })
        return next
      }
      case 'DEL':
      case 'EXISTS': {
        let n = 0
        for (const key of need(a, 1)) {
          if (this.live(key) === undefined) continue
          n++
          if (name.toUpperCase() === 'DEL') this.data.delete(key)
        }
        return n
      }
      case 'PEXPIRE': {
        const [key, ms] = need(a, 2)
        const entry = this.live(key)
        if (entry === undefined) return 0
        entry.expiresAt = this.now() + whole(ms)
        return 1
      }
      case 'PTTL': {
        const entry = this.live(need(a, 1)[0])
        if (entry === undefined) return -2
        return entry.expiresAt === Infinity ? -1 : Math.ceil(entry.expiresAt - this.now())
      }
      default:
        throw new ReplyError(`ERR unknown command '${name}' (MemoryRedis)`)
    }
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt > this.now()) return entry
    this.data.delete(key)
    return undefined
  }
}

function need(args: string[], n: number): [string, ...string[]] {
  if (args.length < n) throw new ReplyError('ERR wrong number of arguments')
  return args as [string, ...string[]]
}

function whole(raw: string | undefined, negative = false): number {
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || (!negative && n <= 0)) throw new ReplyError('ERR value is not an integer or out of range')
  return n
}
