import type { DeadLetter } from './TaskCodec.ts'
import type { ResolvedConfig } from './TaskQueueOptions.ts'

/** One delivery from a priority stream: the level's index, the stream entry id, the raw (untrusted) fields. */
export interface FetchedEntry {
  readonly level: number
  readonly entryId: string
  readonly fields: unknown
}

/** A fetch's result: which levels came back short, the deliveries, and per ack sent with it whether it was still ours. */
export interface Fetched {
  readonly short: boolean[]
  readonly entries: FetchedEntry[]
  readonly acked: boolean[]
}

export interface PriorityStats {
  readonly priority: string
  /** Enqueued, not yet delivered. */
  readonly waiting: number
  /** Delivered, not yet settled (running, or held by a dead consumer until reclaimed). */
  readonly inFlight: number
  /** Age (ms, Redis time) of the oldest waiting task; 0 when none. */
  readonly oldestWaitingMs: number
}

/** Gauges and counters of one queue, read in one atomic step on Redis time. */
export interface QueueStats {
  readonly queue: string
  readonly priorities: readonly PriorityStats[]
  readonly waiting: number
  readonly inFlight: number
  /** Tasks waiting in the delayed set (retries with backoff, delayed enqueues). */
  readonly delayed: number
  readonly dlq: number
  /** Age (ms) of the oldest task waiting or in flight in any stream; 0 when none. */
  readonly oldestAgeMs: number
  /** Since the queue's keys were created: completed, retries, dead, reclaimed, malformed. */
  readonly counters: Readonly<Record<'completed' | 'retries' | 'dead' | 'reclaimed' | 'malformed', number>>
}

/**
 * The port between the queue's actors and where tasks live. `RedisTaskStore` implements it on
 * Redis Streams (one Lua script per state change). Every method fails with a typed error
 * (ERR_TASK_QUEUE_UNAVAILABLE, ERR_TASK_QUEUE_FULL) rather than hanging.
 */
export interface TaskStore {
  readonly queue: string
  readonly config: ResolvedConfig
  /** Creates the consumer group on every priority stream (idempotent). */
  ensureGroups(): Promise<void>
  /** `created: false` when the idempotency key was seen within its window (`id` is then the first task's). */
  enqueue(payloadJson: string, priority: string, maxAttempts: number, delayMs: number, idempotencyKey: string | null): Promise<{ id: string; created: boolean }>
  /**
   * Acks `acks` (owner-checked, as `settle`), then reads new entries for `consumer`, up to each
   * level's quota (a short level's rest goes to the others), within `maxInFlight` (0: no cap)
   * queue-wide: one atomic step.
   */
  fetch(consumer: string, quotas: readonly number[], maxInFlight: number, acks?: readonly (readonly [level: number, entryId: string])[]): Promise<Fetched>
  /** Acks (XACK + XDEL) or renews (XCLAIM JUSTID) entries still owned by `consumer`; false for each it no longer owns. */
  settle(consumer: string, op: 'ack' | 'renew', items: readonly (readonly [level: number, entryId: string])[]): Promise<boolean[]>
  /** Moves an owned entry to the delayed set (retry, due after `delayMs`) or the DLQ; false when no longer owned. */
  fail(consumer: string, level: number, entryId: string, mode: 'retry' | 'dead', delayMs: number, fields: readonly string[]): Promise<boolean>
  /** Moves due delayed tasks back to their streams; `nextDueMs` -1 when nothing is delayed. */
  promote(limit: number): Promise<{ moved: number; malformed: number; nextDueMs: number }>
  /** Requeues (or DLQs) entries idle for at least `visibilityTimeoutMs`. */
  reclaim(claimer: string, visibilityTimeoutMs: number, count: number): Promise<{ requeued: number; dead: number; lost: number }>
  /** DLQ → queue with attempts reset: the oldest `count`, or the given DLQ entry ids. */
  replay(count: number, ids: readonly string[]): Promise<{ replayed: number; skipped: number }>
  deadLetters(count: number): Promise<DeadLetter[]>
  stats(): Promise<QueueStats>
}
