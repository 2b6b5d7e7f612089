import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { TaskQueueFullError, TaskQueueUnavailableError } from '../errors.ts'
import { decodeDeadLetter, type DeadLetter } from './TaskCodec.ts'
import type { Fetched, FetchedEntry, PriorityStats, QueueStats, TaskStore } from './TaskStore.ts'
import type { ResolvedConfig } from './TaskQueueOptions.ts'
import { ENSURE_GROUPS, PROMOTE, RECLAIM, REPLAY, STATS } from './adminScripts.ts'
import { ENQUEUE, FAIL, FETCH, SETTLE } from './taskScripts.ts'
import { idLess, type TaskScriptName } from './TaskScriptPort.ts'

type Script = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<unknown>

/** XRANGE of the DLQ for `deadLetters` (a script too, so the whole store is one port). KEYS: dlq. ARGV: count. */
const DEAD_LETTERS = "return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])"

/** Lua by script name, and the ioredis command each is defined as. */
const SCRIPTS: Record<TaskScriptName, readonly [command: string, lua: string]> = {
  enqueue: ['troupeTqEnqueue', ENQUEUE],
  fetch: ['troupeTqFetch', FETCH],
  settle: ['troupeTqSettle', SETTLE],
  fail: ['troupeTqFail', FAIL],
  promote: ['troupeTqPromote', PROMOTE],
  reclaim: ['troupeTqReclaim', RECLAIM],
  replay: ['troupeTqReplay', REPLAY],
  stats: ['troupeTqStats', STATS],
  ensureGroups: ['troupeTqEnsure', ENSURE_GROUPS],
  deadLetters: ['troupeTqDeadLetters', DEAD_LETTERS],
}

type ScriptName = TaskScriptName

interface QueuedEnqueue {
  readonly payloadJson: string
  readonly level: number
  readonly maxAttempts: number
  readonly delayMs: number
  readonly idempotencyKey: string | null
  readonly resolve: (r: { id: string; created: boolean }) => void
  readonly reject: (error: Error) => void
}

interface Pending {
  readonly deadline: number
  readonly op: string
  readonly reject: (error: Error) => void
}

/** Appends settle groups (see the prelude's `settle`): per stream its index, count, id range and ids. */
function settleArgs(args: (string | number)[], items: readonly (readonly [number, string])[]): void {
  const groups = new Map<number, { ids: string[]; lo: string; hi: string }>()
  for (const [level, entryId] of items) {
    const g = groups.get(level)
    if (g === undefined) groups.set(level, { ids: [entryId], lo: entryId, hi: entryId })
    else {
      g.ids.push(entryId)
      if (idLess(entryId, g.lo)) g.lo = entryId
      else if (idLess(g.hi, entryId)) g.hi = entryId
    }
  }
  for (const [level, g] of groups) args.push(level, g.ids.length, g.lo, g.hi, ...g.ids)
}

/** One flag per item from a settle reply `{settled, lost ids...}`: all true unless some were not ours any more (rare). */
function owned(items: readonly (readonly [number, string])[], reply: readonly (number | string)[]): boolean[] {
  if (reply[0] === items.length) return items.map(() => true)
  const lost = new Set(reply.slice(1) as string[])
  return items.map(([, entryId]) => !lost.has(entryId))
}

const hop = (): void => {}
const num = (value: unknown): number => (typeof value === 'number' ? value : Number(value))

/**
 * The task store on Redis Streams. Every state change is one Lua script (EVALSHA, EVAL on
 * NOSCRIPT, through ioredis `defineCommand`), so a task is always in exactly one place. Calls race
 * a deadline on the injected clock: a Redis that does not answer costs `commandTimeoutMs`, then a
 * typed ERR_TASK_QUEUE_UNAVAILABLE (the call may still have run: every caller is written so that a
 * repeat is harmless or reclaimed).
 */
export class RedisTaskStore implements TaskStore {
  readonly queue: string
  readonly config: ResolvedConfig
  private readonly clock: Clock
  private readonly base: string
  private readonly streams: string[]
  private readonly names: string[]
  private readonly scripts: Record<ScriptName, Script>
  private readonly enqueues: QueuedEnqueue[] = []
  private enqueueBatches = 0
  private pumpScheduled = false
  private readonly inflight = new Set<Pending>()
  private watchdog: TimerHandle | null = null

  constructor(queue: string, config: ResolvedConfig, clock: Clock) {
    this.queue = queue
    this.config = config
    this.clock = clock
    this.base = `${config.prefix}{${queue}}`
    this.names = config.priorities.map((p) => p.name)
    this.streams = this.names.map((name) => `${this.base}:p:${name}`)
    const scripts = {} as Record<ScriptName, Script>
    const port = config.port
    if (port !== null) {
      for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
        scripts[name] = async (count, ...keysThenArgs) => port.runTaskScript(name, keysThenArgs.slice(0, count) as string[], keysThenArgs.slice(count))
      }
    } else {
      const redis = config.redis as unknown as Record<string, unknown> & { defineCommand(name: string, d: { lua: string }): void }
      for (const [name, [command, lua]] of Object.entries(SCRIPTS) as [ScriptName, readonly [string, string]][]) {
        if (typeof redis[command] !== 'function') redis.defineCommand(command, { lua })
        scripts[name] = (redis[command] as Script).bind(redis)
      }
    }
    this.scripts = scripts
  }

  /** The stream key of a priority level (tests and tools XADD to it). */
  streamKey(priority: string): string {
    return `${this.base}:p:${priority}`
  }

  /** Every key the queue uses lives under this (`<prefix>{<queue>}`). */
  get keyBase(): string {
    return this.base
  }

  private run(op: string, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.withTimeout(op, this.scripts[name](keys.length, ...keys, ...args))
  }

  async ensureGroups(): Promise<void> {
    await this.run('ensureGroups', 'ensureGroups', this.streams, [this.config.group])
  }

  /**
   * Concurrent enqueues leave together in one script call (each still atomic, in call order), up
   * to 64 per call with at most 2 calls in flight. A send waits two microtask hops first, so the
   * callers a reply just woke (they enqueue again in the same cascade) join one batch instead of
   * the first of them leaving alone. No timer.
   */
  enqueue(payloadJson: string, priority: string, maxAttempts: number, delayMs: number, idempotencyKey: string | null): Promise<{ id: string; created: boolean }> {
    const level = this.names.indexOf(priority)
    return new Promise((resolve, reject) => {
      this.enqueues.push({ payloadJson, level, maxAttempts, delayMs, idempotencyKey, resolve, reject })
      this.schedulePump()
    })
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.enqueueBatches >= 2) return
    this.pumpScheduled = true
    void Promise.resolve().then(hop).then(() => {
      this.pumpScheduled = false
      this.pumpEnqueues()
    })
  }

  private pumpEnqueues(): void {
    while (this.enqueueBatches < 2 && this.enqueues.length > 0) {
      const batch = this.enqueues.splice(0, 64)
      this.enqueueBatches++
      void this.sendEnqueues(batch).finally(() => {
        this.enqueueBatches--
        this.schedulePump()
      })
    }
  }

  private async sendEnqueues(batch: readonly QueuedEnqueue[]): Promise<void> {
    const keys = [`${this.base}:seq`, `${this.base}:delayed`, ...this.streams]
    const args: (string | number)[] = [this.names.length, this.config.idempotencyWindowMs, this.config.maxDepth, ...this.names]
    const idemIndex = new Map<string, number>()
    for (const e of batch) {
      let ki = 0
      if (e.idempotencyKey !== null) {
        ki = idemIndex.get(e.idempotencyKey) ?? 0
        if (ki === 0) {
          keys.push(`${this.base}:idem:${e.idempotencyKey}`)
          ki = keys.length
          idemIndex.set(e.idempotencyKey, ki)
        }
      }
      args.push(e.payloadJson, e.maxAttempts, e.level, e.delayMs, ki, e.idempotencyKey ?? '')
    }
    let replies: (number | string)[]
    try {
      replies = (await this.run('enqueue', 'enqueue', keys, args)) as (number | string)[]
    } catch (error) {
      for (const e of batch) e.reject(error as Error)
      return
    }
    batch.forEach((e, i) => {
      const code = replies[2 * i] ?? -2
      const id = replies[2 * i + 1] ?? ''
      if (code === -1) e.reject(new TaskQueueFullError(`task queue '${this.queue}' holds ${this.config.maxDepth} tasks of priority ${this.names[e.level] ?? '?'}: enqueue refused`, { data: { queue: this.queue, maxDepth: this.config.maxDepth } }))
      else if (code === -2) e.reject(new TaskQueueUnavailableError(`task queue '${this.queue}': enqueue got no answer for this task`, { data: { queue: this.queue, op: 'enqueue' } }))
      else e.resolve({ id: String(id), created: code === 1 })
    })
  }

  async fetch(consumer: string, quotas: readonly number[], maxInFlight: number, acks: readonly (readonly [number, string])[] = []): Promise<Fetched> {
    const args: (string | number)[] = [this.config.group, consumer, maxInFlight, ...quotas]
    settleArgs(args, acks)
    const reply = (await this.run('fetch', 'fetch', [...this.streams, `${this.base}:stats`], args)) as unknown[]
    const entries: FetchedEntry[] = []
    for (let i = 2; i + 1 < reply.length; i += 2) {
      const level = reply[i] as number
      for (const [entryId, fields] of reply[i + 1] as [string, unknown][]) entries.push({ level, entryId, fields })
    }
    return { short: (reply[0] as number[]).map((s) => s === 1), entries, acked: owned(acks, reply[1] as (number | string)[]) }
  }

  async settle(consumer: string, op: 'ack' | 'renew', items: readonly (readonly [number, string])[]): Promise<boolean[]> {
    const args: (string | number)[] = [this.config.group, consumer, op]
    settleArgs(args, items)
    return owned(items, (await this.run(op, 'settle', [...this.streams, `${this.base}:stats`], args)) as (number | string)[])
  }

  async fail(consumer: string, level: number, entryId: string, mode: 'retry' | 'dead', delayMs: number, fields: readonly string[]): Promise<boolean> {
    const keys = [this.streams[level] as string, `${this.base}:delayed`, `${this.base}:dlq`, `${this.base}:stats`]
    return (await this.run('fail', 'fail', keys, [this.config.group, consumer, entryId, mode, Math.max(0, Math.round(delayMs)), ...fields])) === 1
  }

  async promote(limit: number): Promise<{ moved: number; malformed: number; nextDueMs: number }> {
    const keys = [`${this.base}:delayed`, `${this.base}:dlq`, `${this.base}:stats`, ...this.streams]
    const [moved, malformed, nextDueMs] = (await this.run('promote', 'promote', keys, [limit, ...this.names])) as [number, number, number]
    return { moved, malformed, nextDueMs }
  }

  async reclaim(claimer: string, visibilityTimeoutMs: number, count: number): Promise<{ requeued: number; dead: number; lost: number }> {
    const keys = [`${this.base}:dlq`, `${this.base}:stats`, ...this.streams]
    const [requeued, dead, lost] = (await this.run('reclaim', 'reclaim', keys, [this.config.group, claimer, visibilityTimeoutMs, count, ...this.names])) as [number, number, number]
    return { requeued, dead, lost }
  }

  async replay(count: number, ids: readonly string[]): Promise<{ replayed: number; skipped: number }> {
    const [replayed, skipped] = (await this.run('replay', 'replay', [`${this.base}:dlq`, ...this.streams], [count, ...this.names, '--', ...ids])) as [number, number]
    return { replayed, skipped }
  }

  async deadLetters(count: number): Promise<DeadLetter[]> {
    const entries = (await this.run('deadLetters', 'deadLetters', [`${this.base}:dlq`], [count])) as [string, unknown][]
    return entries.map(([id, fields]) => decodeDeadLetter(id, fields))
  }

  /** One watchdog timer for every call in flight (not one timer per call): a call is cut off within 1¼ × commandTimeoutMs. */
  private withTimeout<T>(op: string, call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: this.clock.now() + this.config.commandTimeoutMs, op, reject }
      this.inflight.add(entry)
      this.arm()
      call.then(
        (value) => {
          if (this.inflight.delete(entry)) resolve(value)
        },
        (error: unknown) => {
          if (!this.inflight.delete(entry)) return
          if ((error as { code?: string })?.code?.startsWith('ERR_TASK') === true) reject(error as Error)
          else reject(new TaskQueueUnavailableError(`task queue '${this.queue}': ${op} failed: ${(error as Error)?.message ?? String(error)}`, { cause: error, data: { queue: this.queue, op } }))
        },
      )
    })
  }

  private arm(): void {
    if (this.watchdog !== null || this.inflight.size === 0) return
    this.watchdog = this.clock.setTimer(Math.max(5, Math.floor(this.config.commandTimeoutMs / 4)), () => {
      this.watchdog = null
      const now = this.clock.now()
      for (const entry of this.inflight) {
        if (now < entry.deadline) continue
        this.inflight.delete(entry)
        entry.reject(new TaskQueueUnavailableError(`task queue '${this.queue}': ${entry.op} not answered within ${this.config.commandTimeoutMs} ms`, { data: { queue: this.queue, op: entry.op } }))
      }
      this.arm()
    })
  }

  async stats(): Promise<QueueStats> {
    const keys = [`${this.base}:delayed`, `${this.base}:dlq`, `${this.base}:stats`, ...this.streams]
    const reply = (await this.run('stats', 'stats', keys, [this.config.group])) as [number, number, number, string[], [number, number, number, number][]]
    const [now, delayed, dlq, flat, per] = reply
    const counters = { completed: 0, retries: 0, dead: 0, reclaimed: 0, malformed: 0 }
    for (let i = 0; i + 1 < flat.length; i += 2) if (flat[i] as string in counters) counters[flat[i] as keyof typeof counters] = num(flat[i + 1])
    let oldest = Number.POSITIVE_INFINITY
    const priorities: PriorityStats[] = per.map(([waiting, inFlight, oldestWaiting, oldestPending], i) => {
      if (oldestWaiting >= 0) oldest = Math.min(oldest, oldestWaiting)
      if (oldestPending >= 0) oldest = Math.min(oldest, oldestPending)
      return { priority: this.names[i] as string, waiting: Math.max(0, waiting), inFlight, oldestWaitingMs: oldestWaiting >= 0 ? Math.max(0, now - oldestWaiting) : 0 }
    })
    return {
      queue: this.queue,
      priorities,
      waiting: priorities.reduce((s, p) => s + p.waiting, 0),
      inFlight: priorities.reduce((s, p) => s + p.inFlight, 0),
      delayed,
      dlq,
      oldestAgeMs: Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0,
      counters,
    }
  }
}
