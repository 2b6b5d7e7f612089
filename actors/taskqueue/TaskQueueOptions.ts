import type { Cluster, Redis } from 'ioredis'
import { TaskInvalidError } from '../errors.ts'
import type { TaskScriptPort } from './TaskScriptPort.ts'

/** One priority level: its stream, and its share of the picks while every level has work (`weight`). */
export interface PriorityLevel {
  readonly name: string
  /** A positive integer: a level with weight 4 is served 4 times as often as one with weight 1, while both have tasks. */
  readonly weight: number
}

/** Where a queue lives and how its tasks retry: shared by producers, workers and the scheduler, so give them all the same. */
export interface TaskQueueConfig {
  /** A connected ioredis client. The queue defines nothing on it beyond scripts and never closes it. Give this or `port`. */
  readonly redis?: Redis | Cluster
  /**
   * Instead of `redis`: any implementation of the script port, e.g. the in-memory Redis Streams
   * twin `MemoryTaskRedis` (behind testing's SimulatedService in a simulation).
   */
  readonly port?: TaskScriptPort
  /** Prepended to every key (`<prefix>{<queue>}:…`). Default `troupe:tq:`. */
  readonly prefix?: string
  /** Consumer group name. Default `troupe`. */
  readonly group?: string
  /** Highest first. Default high (8), normal (4), low (1). */
  readonly priorities?: readonly PriorityLevel[]
  /** Priority of an enqueue that names none. Default `normal` (else the middle level). */
  readonly defaultPriority?: string
  /** Attempts before the DLQ, when enqueue does not say. Default 5. */
  readonly maxAttempts?: number
  /** How long an idempotency key suppresses duplicates, from the first enqueue. Default 24 h. */
  readonly idempotencyWindowMs?: number
  /** Payload JSON larger than this is refused (ERR_TASK_TOO_LARGE). Default 1 MiB. */
  readonly maxPayloadBytes?: number
  /** Enqueue refuses (ERR_TASK_QUEUE_FULL) when waiting + in flight + delayed reach this. Default 0: no bound. */
  readonly maxDepth?: number
  /** A Redis call not answered by then fails with ERR_TASK_QUEUE_UNAVAILABLE. Default 5000. */
  readonly commandTimeoutMs?: number
}

export interface ResolvedConfig {
  readonly redis: Redis | Cluster | null
  readonly port: TaskScriptPort | null
  readonly prefix: string
  readonly group: string
  readonly priorities: readonly PriorityLevel[]
  readonly defaultPriority: string
  readonly maxAttempts: number
  readonly idempotencyWindowMs: number
  readonly maxPayloadBytes: number
  readonly maxDepth: number
  readonly commandTimeoutMs: number
}

export const DEFAULT_PRIORITIES: readonly PriorityLevel[] = [
  { name: 'high', weight: 8 },
  { name: 'normal', weight: 4 },
  { name: 'low', weight: 1 },
]

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/

export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME.test(name)
}

function positiveInt(value: number, name: string, problems: string[], allowZero = false): void {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) problems.push(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
}

/** Fills the defaults and checks everything at once: ERR_TASK_INVALID lists every problem. */
export function resolveConfig(config: TaskQueueConfig, problems: string[] = []): ResolvedConfig {
  const priorities = config.priorities ?? DEFAULT_PRIORITIES
  if (!Array.isArray(priorities) || priorities.length === 0 || priorities.length > 16) problems.push('priorities must list 1 to 16 levels')
  const seen = new Set<string>()
  for (const level of Array.isArray(priorities) ? priorities : []) {
    if (!isValidName(level?.name)) problems.push(`priority name must match ${String(NAME)}, got ${JSON.stringify(level?.name)}`)
    else if (seen.has(level.name)) problems.push(`priority ${level.name} is listed twice`)
    else seen.add(level.name)
    if (!Number.isInteger(level?.weight) || level.weight < 1 || level.weight > 1000) problems.push(`priority ${String(level?.name)}: weight must be an integer in [1, 1000]`)
  }
  const middle = priorities[Math.floor(priorities.length / 2)]?.name ?? 'normal'
  const defaultPriority = config.defaultPriority ?? (seen.has('normal') ? 'normal' : middle)
  if (!seen.has(defaultPriority)) problems.push(`defaultPriority ${defaultPriority} is not a listed priority`)
  const resolved: ResolvedConfig = {
    redis: config.redis ?? null,
    port: config.port ?? null,
    prefix: config.prefix ?? 'troupe:tq:',
    group: config.group ?? 'troupe',
    priorities,
    defaultPriority,
    maxAttempts: config.maxAttempts ?? 5,
    idempotencyWindowMs: config.idempotencyWindowMs ?? 86_400_000,
    maxPayloadBytes: config.maxPayloadBytes ?? 1_048_576,
    maxDepth: config.maxDepth ?? 0,
    commandTimeoutMs: config.commandTimeoutMs ?? 5000,
  }
  if ((config.redis === undefined || config.redis === null) === (config.port === undefined || config.port === null)) problems.push('give exactly one of redis (an ioredis client) or port (a TaskScriptPort)')
  else if (config.port != null && typeof config.port.runTaskScript !== 'function') problems.push('port must implement runTaskScript')
  if (typeof resolved.prefix !== 'string') problems.push('prefix must be a string')
  if (!isValidName(resolved.group)) problems.push(`group must match ${String(NAME)}`)
  positiveInt(resolved.maxAttempts, 'maxAttempts', problems)
  positiveInt(resolved.idempotencyWindowMs, 'idempotencyWindowMs', problems)
  positiveInt(resolved.maxPayloadBytes, 'maxPayloadBytes', problems)
  positiveInt(resolved.maxDepth, 'maxDepth', problems, true)
  positiveInt(resolved.commandTimeoutMs, 'commandTimeoutMs', problems)
  return resolved
}

export function throwIfProblems(what: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new TaskInvalidError(`invalid ${what}: ${problems.join('; ')}`, { data: { problems } })
}

/** Exponential backoff of retries: `baseMs × 2^(attempt-1)` capped at `maxMs`, then × (1 − jitter × random) ("equal-ish" jitter). */
export interface RetryBackoff {
  /** Default 1000. */
  readonly baseMs?: number
  /** Default 300 000. */
  readonly maxMs?: number
  /** [0, 1], default 0.5: the delay is drawn from [(1 − jitter) × d, d]. */
  readonly jitter?: number
}

export interface ResolvedBackoff {
  readonly baseMs: number
  readonly maxMs: number
  readonly jitter: number
}

export function resolveBackoff(backoff: RetryBackoff | undefined, problems: string[]): ResolvedBackoff {
  const resolved = { baseMs: backoff?.baseMs ?? 1000, maxMs: backoff?.maxMs ?? 300_000, jitter: backoff?.jitter ?? 0.5 }
  if (!(Number.isFinite(resolved.baseMs) && resolved.baseMs >= 0)) problems.push('backoff.baseMs must be ≥ 0')
  if (!(Number.isFinite(resolved.maxMs) && resolved.maxMs >= resolved.baseMs)) problems.push('backoff.maxMs must be ≥ backoff.baseMs')
  if (!(Number.isFinite(resolved.jitter) && resolved.jitter >= 0 && resolved.jitter <= 1)) problems.push('backoff.jitter must be in [0, 1]')
  return resolved
}

/**
 * The delay before retry number `attempt` (1 = after the first failure). `random` in [0, 1) comes
 * from the system's Random, so a seeded system replays the same schedule.
 */
export function retryDelay(attempt: number, backoff: ResolvedBackoff, random: number): number {
  const exp = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 52))
  return Math.round(exp * (1 - backoff.jitter * random))
}
