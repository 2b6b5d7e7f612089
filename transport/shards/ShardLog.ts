import type { Logger } from '../../runtime/index.ts'

/** pino's numeric levels, for filtering in the worker before a record crosses the thread. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const
export type ShardLogLevel = keyof typeof LEVELS
type Method = 'debug' | 'info' | 'warn' | 'error'

/** One log record a worker shard sends to the main thread (plain data: it crosses `postMessage`). */
export interface ShardLogRecord {
  readonly level: Method
  readonly bindings: Readonly<Record<string, unknown>>
  readonly fields: Readonly<Record<string, unknown>>
  readonly msg: string | undefined
}

export function isShardLogLevel(level: unknown): level is ShardLogLevel {
  return typeof level === 'string' && Object.hasOwn(LEVELS, level)
}

/**
 * The logger of a worker shard: a Logger whose records go to the main thread, which writes them
 * through the node's own logger bound to the shard (`forwardShardLog`). A logger object cannot
 * cross a thread, and one writer keeps the node's log one ordered JSON stream. Records below the
 * main logger's level are dropped here, before they are copied.
 */
export class PortLogger implements Logger {
  private readonly post: (record: ShardLogRecord) => void
  private readonly level: ShardLogLevel
  private readonly threshold: number
  private readonly bindings: Readonly<Record<string, unknown>>

  /** `level`: the main logger's level (records below it are not sent). */
  constructor(post: (record: ShardLogRecord) => void, level: ShardLogLevel, bindings: Readonly<Record<string, unknown>> = {}) {
    this.post = post
    this.level = level
    this.threshold = LEVELS[level]
    this.bindings = bindings
  }

  debug(obj: object, msg?: string): void {
    this.write('debug', obj, msg)
  }
  info(obj: object, msg?: string): void {
    this.write('info', obj, msg)
  }
  warn(obj: object, msg?: string): void {
    this.write('warn', obj, msg)
  }
  error(obj: object, msg?: string): void {
    this.write('error', obj, msg)
  }

  child(bindings: Record<string, unknown>): Logger {
    return new PortLogger(this.post, this.level, { ...this.bindings, ...bindings })
  }

  private write(level: Method, obj: object, msg: string | undefined): void {
    if (LEVELS[level] < this.threshold) return
    try {
      this.post({ level, bindings: this.bindings, fields: plain(obj), msg })
    } catch {
      // The port is closed (the shard is ending): a lost line must not fail the caller.
    }
  }
}

/** Writes a worker's record through the node's logger, bound to its shard. */
export function forwardShardLog(logger: Logger, shard: number, record: ShardLogRecord): void {
  const target = logger.child({ shard, ...record.bindings })
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(record.fields)) fields[key] = reviveError(value)
  switch (record.level) {
    case 'debug':
      return target.debug(fields, record.msg)
    case 'info':
      return target.info(fields, record.msg)
    case 'warn':
      return target.warn(fields, record.msg)
    case 'error':
      return target.error(fields, record.msg)
  }
}

const ERROR_TAG = '~troupeError'

/**
 * An error that crossed from a worker becomes an Error again, so the logger's error serializer
 * writes it as it would have in the worker (its `type` is the original class name).
 */
function reviveError(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || (value as Record<string, unknown>)[ERROR_TAG] !== true) return value
  const { type, message, stack, cause, ...rest } = value as Record<string, unknown>
  delete rest[ERROR_TAG]
  const error = new Error(String(message), cause === undefined ? undefined : { cause: reviveError(cause) })
  const name = String(type)
  // Serializers name the type after the constructor: give this one the original class's name.
  const constructor = { [name]: function () {} }[name]
  Object.defineProperty(error, 'constructor', { value: constructor, enumerable: false })
  error.name = name
  error.stack = String(stack)
  Object.assign(error, rest)
  return error
}

/** The level of a pino-like logger (`logger.level`), or `info` when it has none. */
export function levelOf(logger: Logger): ShardLogLevel {
  const level = (logger as { level?: unknown }).level
  return isShardLogLevel(level) ? level : 'info'
}

/**
 * Errors become what pino's error serializer writes (type, message, stack, code, data, cause), so
 * they keep their fields across `postMessage`, which copies only an Error's message and stack.
 * Anything else that cannot be cloned is written as text.
 */
function plain(obj: object): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(obj)) out[key] = cloneable(value, 0)
  return out
}

function cloneable(value: unknown, depth: number): unknown {
  if (value instanceof Error) return serializeError(value, depth)
  if (typeof value === 'function' || typeof value === 'symbol') return String(value)
  if (typeof value === 'bigint') return value.toString()
  if (value !== null && typeof value === 'object' && depth < 4) {
    if (Array.isArray(value)) return value.map((item) => cloneable(item, depth + 1))
    const proto = Object.getPrototypeOf(value) as unknown
    if (proto !== Object.prototype && proto !== null) return String(value)
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = cloneable(item, depth + 1)
    return out
  }
  return depth >= 4 && value !== null && typeof value === 'object' ? '[object]' : value
}

function serializeError(error: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { [ERROR_TAG]: true, type: error.name, message: error.message, stack: error.stack }
  const extra = error as { code?: unknown; data?: unknown; cause?: unknown }
  if (extra.code !== undefined) out['code'] = extra.code
  if (extra.data !== undefined) out['data'] = cloneable(extra.data, depth + 1)
  if (extra.cause !== undefined && depth < 4) out['cause'] = cloneable(extra.cause, depth + 1)
  return out
}
