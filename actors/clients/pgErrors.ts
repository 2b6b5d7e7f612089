import { Rejection } from '../../runtime/index.ts'
import { PgClosedError, PgConnectionError, PgQueryError, PgTimeoutError } from '../errors.ts'

/** Socket errnos that mean "PostgreSQL is not there (any more)". */
const CONNECTION_ERRNOS: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'])

/**
 * SQLSTATE classes that are the service's fault, not the statement's: 08 connection exception,
 * 53 insufficient resources, 57 operator intervention (57P01 admin shutdown, 57P03 cannot connect
 * now, 57014 query canceled), 58 system error. The breaker records these; any other SQLSTATE (a
 * syntax error, a constraint violation) is the caller's, and counts for nothing.
 */
const SERVICE_SQLSTATE_CLASSES: ReadonlySet<string> = new Set(['08', '53', '57', '58'])

interface PgLikeError {
  readonly code?: unknown
  readonly message?: unknown
  readonly severity?: unknown
  readonly detail?: unknown
  readonly constraint?: unknown
  readonly table?: unknown
  readonly column?: unknown
  readonly schema?: unknown
  readonly position?: unknown
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

/**
 * Maps whatever pg or pg-pool threw to a typed error with a stable code. Our own typed errors (and
 * the breaker's) pass through unchanged. `closing`: the pool is being shut down, so a broken
 * connection is ours, not the server's.
 */
export function mapPgError(error: unknown, client: string, closing = false): Error {
  if (error instanceof Rejection) return error
  const e = (typeof error === 'object' && error !== null ? error : {}) as PgLikeError
  const message = typeof e.message === 'string' ? e.message : String(error)
  const code = typeof e.code === 'string' ? e.code : undefined
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code) && e.severity !== undefined) {
    const sqlstate = code
    if (sqlstate.startsWith('08') || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03') {
      return new PgConnectionError(`PostgreSQL connection lost (${sqlstate}): ${message}`, { cause: error, data: { client, reason: sqlstate } })
    }
    const data: Record<string, unknown> = { client, sqlstate, severity: text(e.severity) ?? 'ERROR' }
    for (const key of ['detail', 'constraint', 'table', 'column', 'schema', 'position'] as const) {
      const value = text(e[key])
      if (value !== undefined) data[key] = value
    }
    return new PgQueryError(`${message} (SQLSTATE ${sqlstate})`, { cause: error, data })
  }
  if (closing) return new PgClosedError(`PostgreSQL pool '${client}' closed while the call was running: ${message}`, { cause: error, data: { client } })
  if (message === 'Query read timeout') return new PgTimeoutError(`PostgreSQL query timed out`, { cause: error, data: { client, phase: 'query' } })
  if (/timeout exceeded when trying to connect|Connection terminated due to connection timeout/i.test(message)) {
    return new PgTimeoutError(`PostgreSQL checkout timed out: ${message}`, { cause: error, data: { client, phase: 'checkout' } })
  }
  if (code !== undefined && CONNECTION_ERRNOS.has(code)) return new PgConnectionError(`PostgreSQL unreachable (${code}): ${message}`, { cause: error, data: { client, reason: code } })
  if (/Connection terminated|connection is closed|Client has encountered a connection error|Client was closed|not queryable/i.test(message)) {
    return new PgConnectionError(`PostgreSQL connection lost: ${message}`, { cause: error, data: { client, reason: 'terminated' } })
  }
  // Anything else from the driver (a protocol surprise): still a typed answer, classed as a connection fault so the breaker sees it.
  return new PgConnectionError(`PostgreSQL client error: ${message}`, { cause: error, data: { client, reason: code ?? 'unknown' } })
}

/** Whether a (mapped) error is the service's fault: the breaker records it and health cares. */
export function isPgServiceFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ERR_PG_CONNECTION' || code === 'ERR_PG_TIMEOUT') return true
  if (code === 'ERR_PG_QUERY') {
    const sqlstate = (error as { data?: { sqlstate?: string } }).data?.sqlstate ?? ''
    return SERVICE_SQLSTATE_CLASSES.has(sqlstate.slice(0, 2))
  }
  return false
}
