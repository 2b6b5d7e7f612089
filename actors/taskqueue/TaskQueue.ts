import { Actor, ActorSystem, type ActorContext, type ActorRef } from '../../runtime/index.ts'
import { childSpec, Supervisor, type AnyChildSpec, type SupervisorProtocol, type SupervisorSpec } from '../../supervision/index.ts'
import type { DeadLetter } from './TaskCodec.ts'
import { TaskProducer, type Enqueued, type EnqueueOptions, type ReplayOptions } from './TaskProducer.ts'
import { TaskScheduler, type TaskSchedulerProtocol } from './TaskScheduler.ts'
import type { QueueStats } from './TaskStore.ts'
import { resolveConfig, throwIfProblems, type TaskQueueConfig } from './TaskQueueOptions.ts'
import { TaskWorker, type TaskWorkerOptions, type TaskWorkerProtocol } from './TaskWorker.ts'

export interface TaskQueueProtocol {
  /** Rejects with ERR_TASK_INVALID, ERR_TASK_TOO_LARGE, ERR_TASK_QUEUE_FULL or ERR_TASK_QUEUE_UNAVAILABLE; nothing is enqueued then (the last: maybe). */
  enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<Enqueued>
  /** DLQ → queue, attempts reset. */
  replay(queue: string, options?: ReplayOptions): Promise<{ replayed: number; skipped: number }>
  deadLetters(queue: string, count?: number): Promise<DeadLetter[]>
  stats(queue: string): Promise<QueueStats>
}

/**
 * The producer and admin side of task queues as an actor, for callers on any shard or node.
 * Reentrant: every call waits on Redis, never on another call.
 */
export class TaskQueue extends Actor<TaskQueueProtocol> implements TaskQueueProtocol {
  static readonly reentrant = true
  private readonly producer: TaskProducer

  constructor(config: TaskQueueConfig) {
    super()
    this.producer = new TaskProducer(config, this.context.system.clock)
  }

  enqueue(queue: string, payload: unknown, options?: EnqueueOptions): Promise<Enqueued> {
    return this.producer.enqueue(queue, payload, options)
  }

  replay(queue: string, options?: ReplayOptions): Promise<{ replayed: number; skipped: number }> {
    return this.producer.replay(queue, options)
  }

  deadLetters(queue: string, count?: number): Promise<DeadLetter[]> {
    return this.producer.deadLetters(queue, count)
  }

  stats(queue: string): Promise<QueueStats> {
    return this.producer.stats(queue)
  }
}

/** A queue's workers: how many worker actors (each with `concurrency` handlers) and their options. */
export type QueueWorkers = Omit<TaskWorkerOptions, keyof TaskQueueConfig | 'queue'> & { readonly workers?: number }

export interface TaskQueueSystemOptions extends TaskQueueConfig {
  /** Queues to consume here, by name: their handler and worker options. Queues only produced to need no entry. */
  readonly queues?: Readonly<Record<string, QueueWorkers>>
  /** Queues this node's scheduler serves (default: the consumed ones). */
  readonly scheduled?: readonly string[]
  /** Visibility timeout of every queue here (workers and scheduler must agree). Default 30 000. */
  readonly visibilityTimeoutMs?: number
  readonly reclaimIntervalMs?: number
  readonly promoteIntervalMs?: number
  /** Supervisor name. Default `taskqueue`. */
  readonly name?: string
}

export interface TaskQueueFamily {
  readonly supervisor: ActorRef<SupervisorProtocol>
  readonly queue: ActorRef<TaskQueueProtocol>
  readonly scheduler: ActorRef<TaskSchedulerProtocol> | null
  readonly workers: Readonly<Record<string, readonly ActorRef<TaskWorkerProtocol>[]>>
}

/** Child specs of the family: `queue` (TaskQueue), `scheduler`, then `worker:<queue>:<i>`; for your own supervisor. */
export function taskQueueChildren(options: TaskQueueSystemOptions): AnyChildSpec[] {
  const { queues = {}, scheduled, visibilityTimeoutMs, reclaimIntervalMs, promoteIntervalMs, name: _name, ...config } = options
  const vt = visibilityTimeoutMs ?? 30_000
  const children: AnyChildSpec[] = [childSpec({ id: 'queue', actor: TaskQueue, args: [config] })]
  const served = scheduled ?? Object.keys(queues)
  if (served.length > 0) {
    children.push(childSpec({
      id: 'scheduler',
      actor: TaskScheduler,
      args: [{ ...config, queues: served, visibilityTimeoutMs: vt, ...(reclaimIntervalMs === undefined ? {} : { reclaimIntervalMs }), ...(promoteIntervalMs === undefined ? {} : { promoteIntervalMs }) }],
    }))
  }
  for (const [queue, { workers = 1, ...worker }] of Object.entries(queues)) {
    for (let i = 0; i < workers; i++) {
      children.push(childSpec({ id: `worker:${queue}:${i}`, actor: TaskWorker, args: [{ ...config, ...worker, queue, visibilityTimeoutMs: vt }] }))
    }
  }
  return children
}

/**
 * Starts a task queue family under one supervisor (one_for_one: a worker that fails is restarted
 * alone with a fresh consumer name; its deliveries come back through the visibility timeout).
 * Bad options reject (ERR_TASK_INVALID, as the start failure's cause) before anything runs.
 */
export async function spawnTaskQueue(parent: ActorSystem | ActorContext<any>, options: TaskQueueSystemOptions): Promise<TaskQueueFamily> {
  const problems: string[] = []
  resolveConfig(options, problems)
  throwIfProblems('task queue options', problems)
  const children = taskQueueChildren(options)
  const spec: SupervisorSpec = { strategy: 'one_for_one', intensity: 10, periodMs: 10_000, children }
  const spawn = { name: options.name ?? 'taskqueue', args: [spec] as [SupervisorSpec] }
  const supervisor: ActorRef<SupervisorProtocol> = parent instanceof ActorSystem ? await parent.spawnAndWait(Supervisor, spawn) : await parent.spawnAndWait(Supervisor, spawn)
  const kids = new Map((await supervisor.ask('whichChildren')).map((c) => [c.id, c.ref] as const))
  const workers: Record<string, ActorRef<TaskWorkerProtocol>[]> = {}
  for (const queue of Object.keys(options.queues ?? {})) {
    workers[queue] = [...kids.entries()].filter(([id]) => id.startsWith(`worker:${queue}:`)).map(([, ref]) => ref as ActorRef<TaskWorkerProtocol>)
  }
  return {
    supervisor,
    queue: kids.get('queue') as ActorRef<TaskQueueProtocol>,
    scheduler: (kids.get('scheduler') ?? null) as ActorRef<TaskSchedulerProtocol> | null,
    workers,
  }
}
