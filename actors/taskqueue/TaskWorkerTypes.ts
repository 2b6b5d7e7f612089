import type { RetryBackoff, TaskQueueConfig } from './TaskQueueOptions.ts'

/** What a handler learns about the delivery it runs. */
export interface TaskContext {
  readonly queue: string
  readonly taskId: string
  readonly priority: string
  /** 1 on the first delivery. */
  readonly attempt: number
  readonly maxAttempts: number
  /** Redis time (ms) of the enqueue. */
  readonly enqueuedAt: number
  /**
   * Fires (reason: ERR_TASK_LEASE_LOST) when this consumer no longer holds the task: its lease could
   * not be renewed within the visibility timeout, another consumer took it over, or the worker is
   * stopping past its drain deadline. Stop work then: the outcome will not be acked.
   */
  readonly signal: AbortSignal
}

/**
 * Runs one task. Resolve: acked. Throw: retried with backoff, or sent to the DLQ once attempts are
 * used up. An error with `retryable: false` goes to the DLQ at once. The error's `code` (when it is a
 * stable `ERR_…`-style code) and message are kept in the task's record. To process tasks in an actor,
 * ask it from here: `(payload, task) => ref.ask('process', payload, task.taskId)`.
 */
export type TaskHandler<P = any> = (payload: P, task: TaskContext) => unknown

export interface TaskWorkerOptions extends TaskQueueConfig {
  readonly queue: string
  readonly handler: TaskHandler
  /** Tasks this worker runs at once. Default 16. */
  readonly concurrency?: number
  /** Per-queue concurrency: tasks in flight across every consumer of the queue (0: no cap). Default 0. */
  readonly maxInFlight?: number
  /** A delivery not settled or renewed within this long is taken back and redelivered. Default 30 000. */
  readonly visibilityTimeoutMs?: number
  /** Lease renewal interval for running tasks. Default visibilityTimeoutMs / 3. */
  readonly heartbeatMs?: number
  /** Wait before asking again when the queue was empty or Redis failed. Default 50. */
  readonly pollIntervalMs?: number
  readonly backoff?: RetryBackoff
  /** Prefix of this worker's consumer names. Default `<hostname>-<pid>`. */
  readonly consumer?: string
  /** On stop: how long running tasks may finish. Default 10 000. */
  readonly drainTimeoutMs?: number
}

export interface TaskWorkerStats {
  readonly consumer: string
  readonly running: number
  readonly completed: number
  readonly failed: number
  readonly retried: number
  readonly dead: number
  readonly malformed: number
  /** Outcomes not acked because the task was no longer this consumer's (reclaimed after the visibility timeout). */
  readonly leaseLost: number
  readonly storeErrors: number
}

export interface TaskWorkerProtocol {
  /** Internal: fetch while there is room. */
  pull(): void
  /** Timer: renew the leases of running tasks. */
  heartbeat(): Promise<void>
  /** Timer: give up the leases that ran out (at the earliest lease end, not at the next heartbeat). */
  expireLeases(): void
  stats(): TaskWorkerStats
}
