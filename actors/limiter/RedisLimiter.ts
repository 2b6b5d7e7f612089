import type { Cluster, Redis } from 'ioredis'
import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { LimiterContentionError, LimiterInvalidError, LimiterUnavailableError } from '../errors.ts'
import type { Decision } from './Decision.ts'
import type { LimiterStore } from './LimiterStore.ts'
import { checkCall, limitOf, validateLimiterSpec, type LimiterSpec } from './LimiterSpec.ts'
import type { LimiterScriptPort } from './LimiterScriptPort.ts'
import { LIMITER_SCRIPTS } from './redisScripts.ts'

export interface RedisLimiterOptions {
  /** A connected ioredis client or cluster. The limiter defines its scripts on it and never closes it. Give this or `port`. */
  readonly redis?: Redis | Cluster
  /**
   * Instead of `redis`: any implementation of the script port, e.g. the in-memory twin
   * (MemoryLimiterServer, behind testing's SimulatedService) to run under the simulator.
   */
  readonly port?: LimiterScriptPort
  /** Prepended to every key (`<prefix>{<key>}`); isolates limiters sharing one Redis. Default `troupe:rl:`. */
  readonly prefix?: string
  /**
   * A call that has not answered within this long fails with ERR_LIMITER_UNAVAILABLE (ioredis may
   * otherwise hold it in its offline queue for the whole outage). Default 1000; 0 disables.
   */
  readonly commandTimeoutMs?: number
  /** Attempts when Redis answers TRYAGAIN / BUSY (slot migration, a busy script). Default 3; then ERR_LIMITER_CONTENTION. */
  readonly maxAttempts?: number
  /**
   * Batch concurrent `decide` calls into one script call (each decision still atomic, in order):
   * while `maxPipelinedBatches` calls are in flight, further decisions queue and leave together,
   * up to `maxBatch` per call. No timer: a lone call leaves at once. Default on, except on a Redis
   * Cluster client (a batch's keys would span slots).
   */
  readonly batch?: boolean
  /** Default 64. */
  readonly maxBatch?: number
  /** Default 2. */
  readonly maxPipelinedBatches?: number
  /** The clock for the timeout only: decisions run on Redis TIME. */
  readonly clock: Clock
}

type ScriptReply = [allowed: number, remaining: number, retryUs: number, resetUs: number, nowUs: number, exists: number]
type ScriptCall = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<unknown>

interface Queued {
  readonly key: string
  readonly cost: number
  readonly resolve: (decision: Decision) => void
  readonly reject: (error: Error) => void
}

/** Redis answers that mean "contention, try again" rather than "down". */
const RETRYABLE = /^(TRYAGAIN|BUSY|LOADING)/

/**
 * The Redis store: every call is one Lua script (`defineCommand`, so EVALSHA with a fallback to
 * EVAL) that reads Redis `TIME`, checks and updates in one atomic step. Many nodes sharing one Redis
 * therefore never admit more than the limit. Failures are typed: ERR_LIMITER_UNAVAILABLE (down,
 * timed out) or ERR_LIMITER_CONTENTION (retries exhausted); never a silent allow. What to do on
 * failure (insurance limiter, fail-open/closed) is RateLimiter's business.
 */
export class RedisLimiter implements LimiterStore {
  readonly limit: number
  private readonly script: ScriptCall
  private readonly prefix: string
  private readonly p1: number
  private readonly p2: number
  private readonly blockDurationMs: number
  private readonly integerCost: boolean
  private readonly timeoutMs: number
  private readonly maxAttempts: number
  private readonly clock: Clock
  private readonly batching: boolean
  private readonly maxBatch: number
  private readonly maxPipelined: number
  private readonly queue: Queued[] = []
  private batchesInFlight = 0
  private settling = false
  /** Calls in flight under the timeout, oldest first from `head`. */
  private readonly waiting: Pending[] = []
  private head = 0
  private watchdog: TimerHandle | null = null

  constructor(spec: LimiterSpec, options: RedisLimiterOptions) {
    validateLimiterSpec(spec)
    this.limit = limitOf(spec)
    this.prefix = options.prefix ?? 'troupe:rl:'
    this.timeoutMs = options.commandTimeoutMs ?? 1000
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3)
    this.clock = options.clock
    this.blockDurationMs = spec.blockDurationMs ?? 0
    this.integerCost = spec.algorithm !== 'token-bucket'
    switch (spec.algorithm) {
      case 'gcra':
        this.p1 = (spec.periodMs * 1000) / spec.countPerPeriod
        this.p2 = spec.maxBurst + 1
        break
      case 'token-bucket':
        this.p1 = spec.capacity
        this.p2 = spec.refillTokens / (spec.refillIntervalMs * 1000)
        break
      default:
        this.p1 = spec.limit
        this.p2 = spec.windowMs * 1000
    }
    const port = options.port
    if (port !== undefined) {
      const algorithm = spec.algorithm
      this.script = async (count, ...keysThenArgs) => port.runLimiterScript(algorithm, keysThenArgs.slice(0, count) as string[], keysThenArgs.slice(count))
      this.batching = options.batch ?? true
    } else {
      if (options.redis === undefined) throw new LimiterInvalidError('RedisLimiter needs `redis` (an ioredis client) or `port`')
      const { name, lua } = LIMITER_SCRIPTS[spec.algorithm]
      const redis = options.redis as unknown as Record<string, unknown> & { isCluster?: boolean; defineCommand(name: string, d: { lua: string }): void }
      // No fixed key count: a batch passes 4 keys per decision.
      if (typeof redis[name] !== 'function') redis.defineCommand(name, { lua })
      this.script = (redis[name] as ScriptCall).bind(redis)
      this.batching = options.batch ?? redis.isCluster !== true
    }
    this.maxBatch = Math.max(1, options.maxBatch ?? 64)
    this.maxPipelined = Math.max(1, options.maxPipelinedBatches ?? 2)
  }

  async decide(key: string, cost: number): Promise<Decision> {
    this.check(key, cost)
    if (!this.batching) return this.toDecision(await this.run(key, 'd', cost, this.blockDurationMs))
    return new Promise<Decision>((resolve, reject) => {
      this.queue.push({ key, cost, resolve, reject })
      if (!this.settling) this.pump()
    })
  }

  /**
   * After a batch completes, its callers come back within a few microtasks with their next
   * decisions. Sending the first of them at once would make batches of one; so wait until the
   * queue stops growing (two quiet microtask hops, at most 16), then send. No timer: this costs a
   * few microtasks per batch, never wall-clock time.
   */
  private settleThenPump(): void {
    if (this.settling) return
    this.settling = true
    let seen = this.queue.length
    let quiet = 0
    let hops = 0
    const step = (): void => {
      if (this.queue.length !== seen) {
        seen = this.queue.length
        quiet = 0
      } else {
        quiet++
      }
      if (quiet >= 2 || ++hops >= 16 || this.queue.length >= this.maxBatch) {
        this.settling = false
        this.pump()
        return
      }
      void Promise.resolve().then(step)
    }
    void Promise.resolve().then(step)
  }

  private pump(): void {
    while (this.batchesInFlight < this.maxPipelined && this.queue.length > 0) {
      // Share what waits among the free pipeline slots, so client and server work overlap.
      const size = Math.min(this.maxBatch, Math.ceil(this.queue.length / (this.maxPipelined - this.batchesInFlight)))
      const items = this.queue.splice(0, size)
      this.batchesInFlight++
      void this.sendBatch(items).finally(() => {
        this.batchesInFlight--
        this.settleThenPump()
      })
    }
  }

  private async sendBatch(items: Queued[]): Promise<void> {
    try {
      if (items.length === 1) {
        const only = items[0] as Queued
        only.resolve(this.toDecision(await this.run(only.key, 'd', only.cost, this.blockDurationMs)))
        return
      }
      const keys: string[] = []
      const args: (string | number)[] = ['B', items.length, 0, this.p1, this.p2]
      for (const item of items) {
        const base = this.keyOf(item.key)
        keys.push(base, `${base}:b`, `${base}:q`, `${base}:d`)
        args.push('d', item.cost, this.blockDurationMs)
      }
      const flat = (await this.invoke(keys, args, (items[0] as Queued).key)) as number[]
      items.forEach((item, i) => item.resolve(this.toDecision(flat.slice(i * 6, i * 6 + 6) as ScriptReply)))
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      for (const item of items) item.reject(failure)
    }
  }

  async adjust(key: string, delta: number): Promise<Decision> {
    this.check(key, Math.abs(delta), 'delta')
    return this.toDecision(await this.run(key, 'a', delta, 0))
  }

  async get(key: string): Promise<Decision | null> {
    this.check(key, 0)
    const reply = await this.run(key, 'g', 0, 0)
    return reply[5] === 0 ? null : this.toDecision(reply)
  }

  async set(key: string, consumed: number, durationMs?: number): Promise<Decision> {
    this.check(key, consumed, 'consumed')
    if (durationMs !== undefined && !(durationMs > 0 && Number.isFinite(durationMs))) throw new LimiterInvalidError('durationMs must be > 0')
    return this.toDecision(await this.run(key, 's', consumed, durationMs === undefined ? 0 : Math.ceil(durationMs)))
  }

  async delete(key: string): Promise<boolean> {
    this.check(key, 0)
    const deleted = (await this.call(key, 'x', 0, 0)) as number
    return deleted > 0
  }

  async block(key: string, durationMs: number): Promise<Decision> {
    this.check(key, 0)
    if (!(durationMs > 0 && Number.isFinite(durationMs))) throw new LimiterInvalidError('durationMs must be > 0')
    return this.toDecision(await this.run(key, 'b', 0, Math.ceil(durationMs)))
  }

  /** The Redis key of `key`'s state; its siblings add `:b`, `:q`, `:d`. The hash tag keeps all four in one cluster slot. */
  keyOf(key: string): string {
    return `${this.prefix}{${key}}`
  }

  private check(key: string, cost: number, what = 'cost'): void {
    checkCall(key, cost, what)
    if (this.integerCost && !Number.isInteger(cost)) throw new LimiterInvalidError(`${what} must be a whole number for this algorithm, got ${cost}`)
  }

  private toDecision(reply: ScriptReply): Decision {
    const [allowed, remaining, retryUs, resetUs, nowUs] = reply
    const resetAfterMs = resetUs / 1000
    return {
      allowed: allowed === 1,
      remaining,
      limit: this.limit,
      retryAfterMs: allowed === 1 ? 0 : retryUs < 0 ? -1 : retryUs / 1000,
      resetAfterMs,
      resetAtMs: nowUs / 1000 + resetAfterMs,
      source: 'store',
    }
  }

  private async run(key: string, op: string, n: number, ms: number): Promise<ScriptReply> {
    return (await this.call(key, op, n, ms)) as ScriptReply
  }

  private call(key: string, op: string, n: number, ms: number): Promise<unknown> {
    const base = this.keyOf(key)
    return this.invoke([base, `${base}:b`, `${base}:q`, `${base}:d`], [op, n, ms, this.p1, this.p2], key)
  }

  private async invoke(keys: string[], args: (string | number)[], key: string): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        const pending = this.script(keys.length, ...keys, ...args)
        return this.timeoutMs > 0 ? await this.withTimeout(pending) : await pending
      } catch (error) {
        if (error instanceof LimiterUnavailableError) throw error
        const message = error instanceof Error ? error.message : String(error)
        if (RETRYABLE.test(message)) {
          if (attempt >= this.maxAttempts) throw new LimiterContentionError(`Redis answered '${message}' ${attempt} times for '${key}'; not deciding`, { cause: error, data: { key, attempts: attempt } })
          continue
        }
        throw new LimiterUnavailableError(`Redis limiter call failed for '${key}': ${message}`, { cause: error, data: { key } })
      }
    }
  }

  /**
   * Bounds a call by `timeoutMs` without a timer per call: calls wait in a FIFO (their deadlines
   * are in send order, all the same distance ahead), and one watchdog timer, armed for the oldest,
   * rejects whatever is overdue when it fires.
   */
  private withTimeout(pending: Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const entry: Pending = { deadline: this.clock.now() + this.timeoutMs, reject, done: false }
      this.waiting.push(entry)
      if (this.watchdog === null) this.arm(this.timeoutMs)
      pending.then(
        (value) => {
          entry.done = true
          this.dropSettled()
          resolve(value)
        },
        (error: unknown) => {
          entry.done = true
          this.dropSettled()
          reject(error instanceof Error ? error : new Error(String(error)))
        },
      )
    })
  }

  private dropSettled(): void {
    while (this.head < this.waiting.length && (this.waiting[this.head] as Pending).done) this.head++
    if (this.head === this.waiting.length) {
      this.waiting.length = 0
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head)
      this.head = 0
    }
  }

  private arm(delayMs: number): void {
    this.watchdog = this.clock.setTimer(Math.max(1, delayMs), () => {
      this.watchdog = null
      const now = this.clock.now()
      this.dropSettled()
      while (this.head < this.waiting.length) {
        const entry = this.waiting[this.head] as Pending
        if (!entry.done && entry.deadline > now) break
        this.head++
        if (entry.done) continue
        entry.done = true
        entry.reject(new LimiterUnavailableError(`Redis did not answer within ${this.timeoutMs} ms`, { data: { timeoutMs: this.timeoutMs } }))
      }
      this.dropSettled()
      const next = this.waiting[this.head]
      if (next !== undefined) this.arm(next.deadline - now)
    })
  }
}

interface Pending {
  readonly deadline: number
  readonly reject: (error: Error) => void
  done: boolean
}
