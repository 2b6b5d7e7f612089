import { hostname } from 'node:os'
import { Actor } from '../../runtime/index.ts'
import { TaskLeaseLostError } from '../errors.ts'
import { deadRecord, decodeTask, encodeTask, malformedRecord, MAX_MESSAGE, type TaskRecord } from './TaskCodec.ts'
import { RedisTaskStore } from './RedisTaskStore.ts'
import type { FetchedEntry, TaskStore } from './TaskStore.ts'
import { isValidName, resolveBackoff, resolveConfig, retryDelay, throwIfProblems, type ResolvedBackoff } from './TaskQueueOptions.ts'
import { WeightedSelector } from './WeightedSelector.ts'

export type { TaskContext, TaskHandler, TaskWorkerOptions, TaskWorkerProtocol, TaskWorkerStats } from './TaskWorkerTypes.ts'
import type { TaskContext, TaskHandler, TaskWorkerOptions, TaskWorkerProtocol, TaskWorkerStats } from './TaskWorkerTypes.ts'

interface Running {
  readonly level: number
  readonly entryId: string
  readonly task: TaskRecord
  /** Made on first use of `signal` (an AbortController per task is a measurable cost on the hot path). */
  abort: AbortController | null
  lostReason: Error | null
  leaseUntil: number
  lost: boolean
}

let incarnations = 0
const hop = (): void => {}

/**
 * One consumer of a queue: fetches by weighted fair selection across the priority streams, runs
 * up to `concurrency` handlers, acks what succeeds (owner-checked, batched per turn), retries or
 * dead-letters what fails, and renews the leases of long tasks. It never sleeps on a task: retries
 * wait in Redis's delayed set, moved back by the scheduler. Each incarnation uses a fresh consumer
 * name, so a restarted worker never mistakes its predecessor's deliveries for its own.
 */
export class TaskWorker extends Actor<TaskWorkerProtocol> implements TaskWorkerProtocol {
  static readonly reentrant = true
  private readonly store: TaskStore
  private readonly handler: TaskHandler
  private readonly selector: WeightedSelector
  /** Priority names by stream index (a delivery's priority is its stream's). */
  private readonly levels: readonly string[]
  private readonly consumerName: string
  private readonly concurrency: number
  private readonly maxInFlight: number
  private readonly vt: number
  private readonly heartbeatMs: number
  private readonly pollMs: number
  private readonly backoff: ResolvedBackoff
  private readonly drainMs: number
  private readonly refillAt: number
  private readonly running = new Map<string, Running>()
  /** Finished tasks to ack: they ride on the next fetch, or leave alone when no fetch is due. */
  private acks: Running[] = []
  private flushScheduled = false
  private readonly flushes = new Set<Promise<void>>()
  /** When the lease timer fires (the earliest lease end it was armed for). */
  private leaseTimerAt = Number.POSITIVE_INFINITY
  private fetching = false
  private fetchDone: Promise<void> = Promise.resolve()
  private wanted = false
  private stopping = false
  private drained: (() => void) | null = null
  private readonly counts = { completed: 0, failed: 0, retried: 0, dead: 0, malformed: 0, leaseLost: 0, storeErrors: 0 }

  constructor(options: TaskWorkerOptions) {
    super()
    const problems: string[] = []
    const config = resolveConfig(options, problems)
    this.backoff = resolveBackoff(options.backoff, problems)
    if (!isValidName(options.queue)) problems.push('queue must be a name of 1 to 64 letters, digits or _.:-')
    if (typeof options.handler !== 'function') problems.push('handler must be a function')
    this.concurrency = options.concurrency ?? 16
    this.maxInFlight = options.maxInFlight ?? 0
    this.vt = options.visibilityTimeoutMs ?? 30_000
    this.heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(this.vt / 3))
    this.pollMs = options.pollIntervalMs ?? 50
    this.drainMs = options.drainTimeoutMs ?? 10_000
    this.refillAt = Math.max(1, Math.floor(this.concurrency / 4))
    for (const [name, v] of [['concurrency', this.concurrency], ['visibilityTimeoutMs', this.vt], ['heartbeatMs', this.heartbeatMs], ['pollIntervalMs', this.pollMs]] as const) {
      if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer`)
    }
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 0) problems.push('maxInFlight must be a non-negative integer')
    if (!(this.heartbeatMs < this.vt)) problems.push('heartbeatMs must be shorter than visibilityTimeoutMs')
    throwIfProblems('task worker options', problems)
    this.store = new RedisTaskStore(options.queue, config, this.context.system.clock)
    this.handler = options.handler
    this.selector = new WeightedSelector(config.priorities.map((p) => p.weight))
    this.levels = config.priorities.map((p) => p.name)
    this.consumerName = `${options.consumer ?? `${hostname()}-${process.pid}`}:${this.context.name}:${++incarnations}`
  }

  override async preStart(): Promise<void> {
    // A Redis that is down now is retried by the pull loop rather than failing the start.
    await this.store.ensureGroups().catch((error: unknown) => this.storeFailed('ensureGroups', error))
    this.context.timers.startPeriodic('heartbeat', this.heartbeatMs, 'heartbeat')
    this.kick()
  }

  override async onStopping(): Promise<void> {
    this.stopping = true
    this.context.timers.cancel('pull')
    // Deliveries of a fetch already sent are ours: run them rather than leave them to the visibility timeout.
    await this.fetchDone
    if (this.running.size > 0) {
      const { clock } = this.context.system
      const timer = clock.setTimer(this.drainMs, () => this.drained?.())
      await new Promise<void>((resolve) => (this.drained = resolve))
      clock.clearTimer(timer)
    }
    this.context.timers.cancel('heartbeat')
    this.context.timers.cancel('lease')
    for (const r of this.running.values()) this.lose(r, 'the worker stopped before the task finished')
    await this.flush()
  }

  override preRestart(): void {
    this.stopping = true
  }

  stats(): TaskWorkerStats {
    return { consumer: this.consumerName, running: this.running.size, ...this.counts }
  }

  /** Coalesces wake-ups: one fetch at a time, and one more after it when slots freed meanwhile. */
  private kick(): void {
    if (this.stopping) return
    if (this.fetching) {
      this.wanted = true
      return
    }
    this.fetching = true
    this.fetchDone = Promise.resolve().then(() => this.fetch())
  }

  pull(): void {
    this.kick()
  }

  private async fetch(): Promise<void> {
    const free = this.concurrency - this.running.size
    // Refill when a quarter of the slots are free (or none run): one fetch per task would cost a round trip each.
    if (this.stopping || free <= 0 || (free < this.refillAt && this.running.size > 0)) {
      this.fetching = false
      this.scheduleFlush()
      return
    }
    this.wanted = false
    const sentAt = this.context.system.clock.now()
    const acks = this.acks
    this.acks = []
    let entries: FetchedEntry[] = []
    try {
      const fetched = await this.store.fetch(this.consumerName, this.selector.plan(free), this.maxInFlight, acks.map((r) => [r.level, r.entryId] as const))
      entries = fetched.entries
      this.acked(fetched.acked)
    } catch (error) {
      // The acks sent with it may not have happened: those entries come back through the visibility timeout (at least once).
      this.storeFailed('fetch', error)
    }
    this.fetching = false
    for (const entry of entries) this.start(entry, sentAt)
    if (entries.length > 0) this.armLease(sentAt + this.vt)
    if (this.stopping) return
    if (entries.length > 0 || this.wanted) this.kick()
    else {
      this.scheduleFlush()
      this.context.timers.startSingle('pull', this.pollMs, 'pull')
    }
  }

  private start(entry: FetchedEntry, sentAt: number): void {
    const decoded = decodeTask(entry.fields, this.levels[entry.level] ?? '', this.store.config.maxPayloadBytes)
    if (!decoded.ok) {
      this.counts.malformed++
      this.context.log.warn({ queue: this.store.queue, entryId: entry.entryId, reason: decoded.reason }, 'malformed task entry: sent to the DLQ')
      this.store.fail(this.consumerName, entry.level, entry.entryId, 'dead', 0, malformedRecord(entry.fields, decoded.reason, entry.entryId)).catch((error: unknown) => this.storeFailed('fail', error))
      return
    }
    const { task, value } = decoded
    const r: Running = { level: entry.level, entryId: entry.entryId, task, abort: null, lostReason: null, leaseUntil: sentAt + this.vt, lost: false }
    this.running.set(`${entry.level}/${entry.entryId}`, r)
    const context: TaskContext = {
      queue: this.store.queue,
      taskId: task.id,
      priority: task.priority,
      attempt: task.attempts + 1,
      maxAttempts: task.maxAttempts,
      enqueuedAt: task.enqueuedAt,
      get signal(): AbortSignal {
        if (r.abort === null) {
          r.abort = new AbortController()
          if (r.lostReason !== null) r.abort.abort(r.lostReason)
        }
        return r.abort.signal
      },
    }
    // Called at once, not from a promise chain: a handler that returns no promise costs no promise.
    let result: unknown
    try {
      result = this.handler(value, context)
    } catch (error) {
      this.finished(r, error ?? new Error('handler threw without a reason'))
      return
    }
    if (typeof (result as PromiseLike<unknown> | null)?.then === 'function') {
      ;(result as PromiseLike<unknown>).then(
        () => this.finished(r, null),
        (error: unknown) => this.finished(r, error ?? new Error('handler rejected without a reason')),
      )
    } else this.finished(r, null)
  }

  private finished(r: Running, error: unknown): void {
    this.running.delete(`${r.level}/${r.entryId}`)
    if (r.lost) this.counts.leaseLost++
    else if (error === null) this.ack(r)
    else void this.failed(r, error)
    if (this.stopping) {
      if (this.running.size === 0) this.drained?.()
    } else this.kick()
  }

  private ack(r: Running): void {
    this.acks.push(r)
    if (this.stopping) this.scheduleFlush()
  }

  /** Acks that no fetch will carry leave alone, after a few microtask hops so a burst of finishes shares one call. */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.acks.length === 0) return
    this.flushScheduled = true
    void Promise.resolve().then(hop).then(hop).then(() => {
      this.flushScheduled = false
      if (!this.fetching) void this.flush()
    })
  }

  /** Sends the acks not yet sent (owner-checked, one script call) and waits for every ack call in flight. */
  private async flush(): Promise<void> {
    if (this.acks.length > 0) {
      const batch = this.acks
      this.acks = []
      const call = this.store.settle(this.consumerName, 'ack', batch.map((r) => [r.level, r.entryId] as const)).then(
        (owned) => this.acked(owned),
        // Not acked: the entries stay pending and are redelivered after the visibility timeout (at least once).
        (error: unknown) => this.storeFailed('ack', error),
      )
      this.flushes.add(call)
      void call.finally(() => this.flushes.delete(call))
    }
    await Promise.all(this.flushes)
  }

  private acked(owned: readonly boolean[]): void {
    for (const ok of owned) {
      if (ok) this.counts.completed++
      else this.counts.leaseLost++
    }
  }

  private async failed(r: Running, error: unknown): Promise<void> {
    this.counts.failed++
    const e = error as { code?: unknown; message?: unknown; retryable?: unknown }
    const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code) ? e.code : 'ERR_TASK_HANDLER_FAILED'
    const message = (typeof e?.message === 'string' ? e.message : String(error)).slice(0, MAX_MESSAGE)
    const attempts = r.task.attempts + 1
    const retry = e?.retryable !== false && attempts < r.task.maxAttempts
    try {
      const owned = retry
        ? await this.store.fail(this.consumerName, r.level, r.entryId, 'retry', retryDelay(attempts, this.backoff, this.context.system.random.next()), encodeTask({ ...r.task, attempts }, { code, message }))
        : await this.store.fail(this.consumerName, r.level, r.entryId, 'dead', 0, deadRecord(r.task, attempts, { code, message }, r.entryId))
      if (!owned) this.counts.leaseLost++
      else if (retry) this.counts.retried++
      else this.counts.dead++
    } catch (failure) {
      this.storeFailed('fail', failure)
    }
  }

  /** Renews every running lease in one call; a lease not renewed in time is given up (the task's signal fires). */
  async heartbeat(): Promise<void> {
    const now = this.context.system.clock.now()
    const live: Running[] = []
    for (const r of this.running.values()) {
      if (r.lost) continue
      if (now >= r.leaseUntil) this.lose(r, `lease not renewed within the visibility timeout (${this.vt} ms)`)
      else live.push(r)
    }
    if (live.length === 0) return
    try {
      const owned = await this.store.settle(this.consumerName, 'renew', live.map((r) => [r.level, r.entryId] as const))
      live.forEach((r, i) => {
        if (owned[i] === true) r.leaseUntil = now + this.vt
        else this.lose(r, 'another consumer took the task over')
      })
      // Renewed leases end later: the lease timer, armed for an older end, re-arms itself when it fires.
    } catch (error) {
      this.storeFailed('renew', error)
    }
  }

  /**
   * A reclaim may come as soon as a lease ends (the server's idle time started no sooner than the
   * fetch or renewal was sent), so a lease is given up at its end exactly, not at the next heartbeat:
   * otherwise a handler could run on here for up to a heartbeat after another consumer got the task.
   */
  private armLease(at: number): void {
    if (at >= this.leaseTimerAt) return
    this.leaseTimerAt = at
    this.context.timers.startSingle('lease', Math.max(0, at - this.context.system.clock.now()), 'expireLeases')
  }

  expireLeases(): void {
    this.leaseTimerAt = Number.POSITIVE_INFINITY
    const now = this.context.system.clock.now()
    let next = Number.POSITIVE_INFINITY
    for (const r of this.running.values()) {
      if (r.lost) continue
      if (now >= r.leaseUntil) this.lose(r, `lease not renewed within the visibility timeout (${this.vt} ms)`)
      else next = Math.min(next, r.leaseUntil)
    }
    if (next !== Number.POSITIVE_INFINITY) this.armLease(next)
  }

  private lose(r: Running, why: string): void {
    if (r.lost) return
    r.lost = true
    r.lostReason = new TaskLeaseLostError(`task ${r.task.id} of '${this.store.queue}': ${why}`, { data: { queue: this.store.queue, taskId: r.task.id } })
    r.abort?.abort(r.lostReason)
  }

  private storeFailed(op: string, error: unknown): void {
    this.counts.storeErrors++
    this.context.log.warn({ queue: this.store.queue, op, err: (error as Error)?.message ?? String(error) }, 'task queue store call failed')
  }
}
