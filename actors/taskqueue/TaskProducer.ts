import type { Clock } from '../../runtime/index.ts'
import { TaskInvalidError, TaskTooLargeError } from '../errors.ts'
import type { DeadLetter } from './TaskCodec.ts'
import { RedisTaskStore } from './RedisTaskStore.ts'
import type { QueueStats } from './TaskStore.ts'
import { isValidName, resolveConfig, throwIfProblems, type ResolvedConfig, type TaskQueueConfig } from './TaskQueueOptions.ts'

export interface EnqueueOptions {
  /** A configured priority name. Default: the config's `defaultPriority`. */
  readonly priority?: string
  /** Run no sooner than this many ms from now (Redis time). Default 0. */
  readonly delayMs?: number
  /** Within the idempotency window, a second enqueue with this key enqueues nothing and answers the first task's id. */
  readonly idempotencyKey?: string
  /** Attempts before the DLQ. Default: the config's `maxAttempts`. */
  readonly maxAttempts?: number
}

/** `duplicate`: the idempotency key was seen within its window; `id` is the first task's. */
export interface Enqueued {
  readonly id: string
  readonly duplicate: boolean
}

export interface ReplayOptions {
  /** The oldest `count` DLQ records (default 100), unless `ids` names them. */
  readonly count?: number
  readonly ids?: readonly string[]
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/

/**
 * The producer and admin side of task queues, as a plain object (the `TaskQueue` actor wraps it
 * for callers on other shards or nodes). Arguments are checked before anything is sent: a refusal
 * is a typed error and nothing was enqueued. Payloads are JSON (what `JSON.stringify` keeps).
 */
export class TaskProducer {
  readonly config: ResolvedConfig
  private readonly clock: Clock
  private readonly stores = new Map<string, RedisTaskStore>()
  private readonly levels: ReadonlySet<string>

  constructor(config: TaskQueueConfig, clock: Clock) {
    const problems: string[] = []
    this.config = resolveConfig(config, problems)
    throwIfProblems('task queue options', problems)
    this.clock = clock
    this.levels = new Set(this.config.priorities.map((p) => p.name))
  }

  /** The store of one queue (created on first use; each is a handful of key names). */
  store(queue: string): RedisTaskStore {
    let store = this.stores.get(queue)
    if (store === undefined) {
      if (!isValidName(queue)) throw new TaskInvalidError(`queue name must be 1 to 64 letters, digits or _.:-, got ${JSON.stringify(queue)}`, { data: { problems: ['queue'] } })
      store = new RedisTaskStore(queue, this.config, this.clock)
      this.stores.set(queue, store)
    }
    return store
  }

  async enqueue(queue: string, payload: unknown, options: EnqueueOptions = {}): Promise<Enqueued> {
    const problems: string[] = []
    const priority = options.priority ?? this.config.defaultPriority
    if (!this.levels.has(priority)) problems.push(`unknown priority ${JSON.stringify(priority)} (configured: ${[...this.levels].join(', ')})`)
    const delayMs = options.delayMs ?? 0
    if (!(Number.isFinite(delayMs) && delayMs >= 0 && delayMs <= 365 * 86_400_000)) problems.push('delayMs must be a number of ms in [0, 1 year]')
    const maxAttempts = options.maxAttempts ?? this.config.maxAttempts
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 1_000_000) problems.push('maxAttempts must be an integer in [1, 1e6]')
    const key = options.idempotencyKey
    if (key !== undefined && (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))) problems.push('idempotencyKey must be 1 to 200 printable ASCII characters without spaces')
    let json: string | undefined
    try {
      json = JSON.stringify(payload)
    } catch (error) {
      problems.push(`payload is not JSON-serializable: ${(error as Error).message}`)
    }
    if (json === undefined && problems.length === 0) problems.push('payload is not JSON-serializable (undefined, a function or a symbol)')
    throwIfProblems('enqueue', problems)
    const text = json as string
    const bytes = Buffer.byteLength(text)
    if (bytes > this.config.maxPayloadBytes) throw new TaskTooLargeError(`payload of ${bytes} bytes is over the limit of ${this.config.maxPayloadBytes}`, { data: { bytes, limit: this.config.maxPayloadBytes } })
    const r = await this.store(queue).enqueue(text, priority, maxAttempts, Math.round(delayMs), key ?? null)
    return { id: r.id, duplicate: !r.created }
  }

  replay(queue: string, options: ReplayOptions = {}): Promise<{ replayed: number; skipped: number }> {
    const count = options.count ?? 100
    const ids = options.ids ?? []
    if (!Number.isInteger(count) || count < 1 || count > 10_000 || !Array.isArray(ids) || !ids.every((id) => typeof id === 'string' && /^[0-9]{1,20}-[0-9]{1,20}$/.test(id))) {
      return Promise.reject(new TaskInvalidError('replay: count must be an integer in [1, 10000] and ids stream entry ids', { data: { problems: ['count', 'ids'] } }))
    }
    return this.store(queue).replay(count, ids)
  }

  deadLetters(queue: string, count = 100): Promise<DeadLetter[]> {
    if (!Number.isInteger(count) || count < 1 || count > 10_000) return Promise.reject(new TaskInvalidError('deadLetters: count must be an integer in [1, 10000]', { data: { problems: ['count'] } }))
    return this.store(queue).deadLetters(count)
  }

  stats(queue: string): Promise<QueueStats> {
    return this.store(queue).stats()
  }
}
