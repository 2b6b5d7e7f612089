import type { Clock } from '../../runtime/index.ts'
import { LimiterInvalidError } from '../errors.ts'
import type { Decision } from './Decision.ts'
import type { LimiterScriptPort } from './LimiterScriptPort.ts'
import type { AlgorithmSpec } from './LimiterSpec.ts'
import { LocalLimiter } from './LocalLimiter.ts'

/** The twin's "server clock": in a simulation, the simulation's clock (ms). */
export interface ServerClock {
  now(): number
}

/**
 * The in-memory twin of the Redis limiter store, for the deterministic simulator (guide item 22):
 * it answers RedisLimiter's script calls (`LimiterScriptPort`) with the same rules as the Lua
 * scripts, each call one atomic step (JavaScript runs it to the end), on the server clock it is
 * given (Redis `TIME` becomes the simulation's clock). It reuses the local store's algorithms
 * (algorithms.ts, which the Lua mirrors), one LocalLimiter per parameter set, keyed by the Redis
 * key (blocks and `set` deadlines included). Replies are in the script's units (µs; remaining floored; retry and reset rounded up).
 *
 * Faults and latency are not its business: wrap it in `SimulatedService` (troupe/testing) and hand
 * the service's `client` to RedisLimiter as `port`; `down`/`up` make every call fail as a lost
 * connection would.
 */
export class MemoryLimiterServer implements LimiterScriptPort {
  /** Script calls answered (batches count once). */
  calls = 0
  private readonly clock: ServerClock
  private readonly stores = new Map<string, LocalLimiter>()
  /** Block ends (ms) by parameter set and key. */
  private readonly blocks = new Map<string, number>()
  private unreachable = false

  constructor(clock: ServerClock) {
    this.clock = clock
  }

  /** From now on every call fails (ECONNREFUSED-like) until `up()`: an outage of the server. */
  down(): void {
    this.unreachable = true
  }

  up(): void {
    this.unreachable = false
  }

  /** Forgets every key (a restarted Redis without persistence). */
  flush(): void {
    this.stores.clear()
    this.blocks.clear()
  }

  runLimiterScript(algorithm: AlgorithmSpec['algorithm'], keys: string[], args: (string | number)[]): unknown {
    if (this.unreachable) throw new Error('connect ECONNREFUSED (MemoryLimiterServer is down)')
    this.calls++
    if (args[0] === 'B') {
      const count = Number(args[1])
      const p1 = Number(args[3])
      const p2 = Number(args[4])
      const out: unknown[] = []
      for (let i = 0; i < count; i++) {
        const reply = this.one(algorithm, keys[4 * i] as string, String(args[5 + 3 * i]), Number(args[6 + 3 * i]), Number(args[7 + 3 * i]), p1, p2)
        out.push(...(reply as unknown[]))
      }
      return out
    }
    return this.one(algorithm, keys[0] as string, String(args[0]), Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]))
  }

  /** The script's driver (redisScripts.ts DRIVER): blocks are kept here, the algorithm state in the store. */
  private one(algorithm: AlgorithmSpec['algorithm'], key: string, op: string, n: number, ms: number, p1: number, p2: number): unknown {
    const now = this.clock.now()
    const store = this.storeFor(algorithm, p1, p2)
    const id = `${algorithm}|${p1}|${p2}|${key}`
    if (op === 'x') {
      const had = store.delete(key) || (this.blocks.get(id) ?? 0) > now
      this.blocks.delete(id)
      return had ? 1 : 0
    }
    if (op === 'b') this.blocks.set(id, now + ms)
    if (op === 'a') store.adjust(key, n)
    if (op === 's') store.set(key, n, ms > 0 ? ms : undefined)
    const until = this.blocks.get(id) ?? 0
    if (until > now) return [0, 0, Math.ceil((until - now) * 1000), Math.ceil((until - now) * 1000), Math.round(now * 1000), 1]
    if (until > 0) this.blocks.delete(id)
    switch (op) {
      case 'd': {
        const d = store.decide(key, n)
        if (d.allowed || ms <= 0) return this.reply(d, now)
        // A refusal with a block duration blocks the key (the script's SET of the block marker).
        this.blocks.set(id, now + ms)
        return this.reply({ ...d, retryAfterMs: d.retryAfterMs >= 0 && d.retryAfterMs < ms ? ms : d.retryAfterMs }, now)
      }
      case 'g': {
        const d = store.get(key)
        return d === null ? [0, 0, 0, 0, Math.round(now * 1000), 0] : this.reply(d, now)
      }
      case 'a':
      case 's':
      case 'b':
        return this.reply(store.decide(key, 0), now)
      default:
        throw new LimiterInvalidError(`MemoryLimiterServer: unknown op '${op}'`)
    }
  }

  /** One store per algorithm and parameters (a RedisLimiter's keys all use one set). */
  private storeFor(algorithm: AlgorithmSpec['algorithm'], p1: number, p2: number): LocalLimiter {
    const id = `${algorithm}|${p1}|${p2}`
    let store = this.stores.get(id)
    if (store === undefined) {
      const clock = { now: () => this.clock.now(), setTimer: noTimer, clearTimer: () => {}, keepAlive: () => () => {} }
      store = new LocalLimiter(specOf(algorithm, p1, p2), clock as unknown as Clock)
      this.stores.set(id, store)
    }
    return store
  }

  private reply(d: Decision, now: number): unknown[] {
    const retry = d.allowed ? 0 : d.retryAfterMs < 0 ? -1 : Math.ceil(d.retryAfterMs * 1000)
    return [d.allowed ? 1 : 0, Math.floor(d.remaining), retry, Math.ceil(d.resetAfterMs * 1000), Math.round(now * 1000), 1]
  }
}

function noTimer(): never {
  throw new LimiterInvalidError('MemoryLimiterServer stores take no timers')
}

/** The spec a script's parameters stand for (the inverse of RedisLimiter's p1/p2; times in µs there, ms here). */
function specOf(algorithm: AlgorithmSpec['algorithm'], p1: number, p2: number): AlgorithmSpec {
  switch (algorithm) {
    case 'gcra':
      return { algorithm, maxBurst: p2 - 1, countPerPeriod: 1, periodMs: p1 / 1000 }
    case 'token-bucket':
      return { algorithm, capacity: p1, refillTokens: p2 * 1000, refillIntervalMs: 1 }
    default:
      return { algorithm, limit: p1, windowMs: p2 / 1000 }
  }
}
