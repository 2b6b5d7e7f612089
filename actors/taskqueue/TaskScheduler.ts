import { Actor } from '../../runtime/index.ts'
import { RedisTaskStore } from './RedisTaskStore.ts'
import type { TaskStore } from './TaskStore.ts'
import { isValidName, resolveConfig, throwIfProblems, type TaskQueueConfig } from './TaskQueueOptions.ts'

export interface TaskSchedulerOptions extends TaskQueueConfig {
  /** The queues this scheduler serves. */
  readonly queues: readonly string[]
  /** Must equal the workers' visibility timeout. Default 30 000. */
  readonly visibilityTimeoutMs?: number
  /** How often idle deliveries are looked for. Default max(50, visibilityTimeoutMs / 4). */
  readonly reclaimIntervalMs?: number
  /** Longest wait between two looks at the delayed set (sooner when the next task is due sooner). Default 100. */
  readonly promoteIntervalMs?: number
  /** Tasks moved per script call (a busy queue is drained in several calls, other work in between). Default 500. */
  readonly batch?: number
}

export interface TaskSchedulerStats {
  readonly promoted: number
  readonly reclaimed: number
  readonly dead: number
  readonly malformed: number
  readonly storeErrors: number
}

export interface TaskSchedulerProtocol {
  /** Timer: move due delayed tasks back to their streams. */
  promote(): Promise<void>
  /** Timer: take back deliveries idle beyond the visibility timeout. */
  reclaim(): Promise<void>
  stats(): TaskSchedulerStats
}

/**
 * The queue's clockwork, on the injected clock: moves due retries and delayed tasks from the
 * sorted set back to their streams, and applies the visibility timeout (XAUTOCLAIM of idle
 * deliveries, requeued with one more attempt or dead-lettered). Both are single atomic scripts on
 * Redis time, so any number of schedulers (one per node) may run at once: each task moves once.
 * Not reentrant: one pass at a time, the next one scheduled when it ends.
 */
export class TaskScheduler extends Actor<TaskSchedulerProtocol> implements TaskSchedulerProtocol {
  private readonly stores: TaskStore[]
  private readonly vt: number
  private readonly reclaimMs: number
  private readonly promoteMs: number
  private readonly batch: number
  private readonly claimer: string
  private readonly counts = { promoted: 0, reclaimed: 0, dead: 0, malformed: 0, storeErrors: 0 }

  constructor(options: TaskSchedulerOptions) {
    super()
    const problems: string[] = []
    const config = resolveConfig(options, problems)
    if (!Array.isArray(options.queues) || options.queues.length === 0 || !options.queues.every(isValidName)) problems.push('queues must list queue names')
    this.vt = options.visibilityTimeoutMs ?? 30_000
    this.reclaimMs = options.reclaimIntervalMs ?? Math.max(50, Math.floor(this.vt / 4))
    this.promoteMs = options.promoteIntervalMs ?? 100
    this.batch = options.batch ?? 500
    for (const [name, v] of [['visibilityTimeoutMs', this.vt], ['reclaimIntervalMs', this.reclaimMs], ['promoteIntervalMs', this.promoteMs], ['batch', this.batch]] as const) {
      if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer`)
    }
    throwIfProblems('task scheduler options', problems)
    const clock = this.context.system.clock
    this.stores = (options.queues ?? []).map((queue) => new RedisTaskStore(queue, config, clock))
    // XAUTOCLAIM needs a consumer to claim to; the script settles each claimed entry in the same step.
    this.claimer = 'troupe-reclaimer'
  }

  override preStart(): void {
    this.context.timers.startSingle('promote', 0, 'promote')
    this.context.timers.startSingle('reclaim', this.reclaimMs, 'reclaim')
  }

  stats(): TaskSchedulerStats {
    return { ...this.counts }
  }

  async promote(): Promise<void> {
    let wait = this.promoteMs
    for (const store of this.stores) {
      try {
        for (;;) {
          const r = await store.promote(this.batch)
          this.counts.promoted += r.moved
          this.counts.malformed += r.malformed
          if (r.moved + r.malformed < this.batch) {
            if (r.nextDueMs >= 0) wait = Math.min(wait, r.nextDueMs)
            break
          }
        }
      } catch (error) {
        this.failed(store, 'promote', error)
      }
    }
    this.context.timers.startSingle('promote', Math.max(1, wait), 'promote')
  }

  async reclaim(): Promise<void> {
    for (const store of this.stores) {
      try {
        for (;;) {
          const r = await store.reclaim(this.claimer, this.vt, this.batch)
          this.counts.reclaimed += r.requeued
          this.counts.dead += r.dead
          this.counts.malformed += r.lost
          if (r.requeued + r.dead + r.lost < this.batch) break
        }
      } catch (error) {
        this.failed(store, 'reclaim', error)
      }
    }
    this.context.timers.startSingle('reclaim', this.reclaimMs, 'reclaim')
  }

  private failed(store: TaskStore, op: string, error: unknown): void {
    this.counts.storeErrors++
    this.context.log.warn({ queue: store.queue, op, err: (error as Error)?.message ?? String(error) }, 'task scheduler: store call failed, retried next tick')
  }
}
