import { Rejection } from '../../runtime/index.ts'
import { RedisClosedError, RedisCommandError, RedisConnectionError, RedisTimeoutError } from '../errors.ts'

/** Error replies that mean the server cannot serve now (not that the command was wrong): the breaker records them. */
const SERVICE_PREFIXES: ReadonlySet<string> = new Set(['BUSY', 'LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'OOM', 'READONLY', 'NOREPLICAS'])

/**
 * Maps whatever ioredis threw to a typed error with a stable code; typed errors pass through.
 * `closing`: the client is being shut down, so a broken connection is ours.
 */
export function mapRedisError(error: unknown, client: string, command: string, timeoutMs: number, closing = false): Error {
  const code = (error as { code?: unknown } | null)?.code
  // The simulator's service port (SimulatedService) answers its own codes: they mean what ioredis's would.
  if (code === 'ERR_SIM_SERVICE_TIMEOUT') return new RedisTimeoutError(`Redis ${command} got no reply in time (simulated)`, { cause: error, data: { client, timeoutMs } })
  if (code === 'ERR_SIM_SERVICE_UNAVAILABLE') return new RedisConnectionError(`Redis unavailable for ${command} (simulated)`, { cause: error, data: { client, reason: 'simulated' } })
  if (error instanceof Rejection) return error
  const e = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown; code?: unknown }
  const message = typeof e.message === 'string' ? e.message : String(error)
  if (e.name === 'ReplyError') {
    const prefix = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR'
    return new RedisCommandError(`Redis refused ${command}: ${message}`, { cause: error, data: { client, prefix, command } })
  }
  if (closing) return new RedisClosedError(`Redis client '${client}' closed while ${command} was out: ${message}`, { cause: error, data: { client } })
  if (message === 'Command timed out') return new RedisTimeoutError(`Redis ${command} timed out after ${timeoutMs} ms`, { cause: error, data: { client, timeoutMs } })
  const reason = typeof e.code === 'string' ? e.code : e.name === 'MaxRetriesPerRequestError' ? 'max_retries' : 'not_connected'
  return new RedisConnectionError(`Redis unavailable for ${command}: ${message}`, { cause: error, data: { client, reason } })
}

export function isRedisServiceFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ERR_REDIS_CONNECTION' || code === 'ERR_REDIS_TIMEOUT') return true
  if (code === 'ERR_REDIS_COMMAND') return SERVICE_PREFIXES.has((error as { data?: { prefix?: string } }).data?.prefix ?? '')
  return false
}
