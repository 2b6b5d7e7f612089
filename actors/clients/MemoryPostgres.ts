import type { PgPortResult } from './PgPort.ts'

/** One statement as the twin's handler sees it. */
export interface PgStatement {
  readonly sql: string
  readonly params: readonly unknown[]
  /** The server session (connection) it runs on. */
  readonly session: number
}

/** A handler's answer; anything left out takes a plain default (no rows, command from the SQL's first word). */
export interface PgAnswer {
  readonly rows?: Record<string, unknown>[]
  readonly fields?: readonly string[]
  readonly command?: string
  readonly rowCount?: number
  /** The statement takes this long on the server (pg_sleep, a lock wait): the reply comes that much later. */
  readonly delayMs?: number
}

/** Answers statements, or throws (`pgServerError` for a SQLSTATE). */
export type PgQueryHandler = (statement: PgStatement) => PgAnswer

/** What the server answers a statement with: pg's result shape, plus how long the server took. */
export interface PgServerAnswer extends PgPortResult {
  readonly delayMs: number
}

export interface MemoryPostgresOptions {
  /** Answers the statements; default `basicPgHandler`. */
  readonly handler?: PgQueryHandler
  /** More sessions than this are refused with 53300 (`too_many_connections`). Default 100, as PostgreSQL's. */
  readonly maxConnections?: number
}

/** A server error shaped like pg's DatabaseError: the SQLSTATE in `code`, a `severity`. */
export function pgServerError(sqlstate: string, message: string, severity: 'ERROR' | 'FATAL' = 'ERROR'): Error {
  return Object.assign(new Error(message), { name: 'error', code: sqlstate, severity })
}

/** A socket-level failure shaped like node's (an errno `code`). */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

const KEYWORDS = /^\s*(select|insert|update|delete|with|begin|start|commit|end|rollback|create|drop|alter|set|show|values|table|truncate|lock|savepoint|release|listen|notify|copy|explain|do|call|prepare|execute|deallocate|grant|revoke|vacuum|analyze|discard|reset)\b/i

function cast(value: unknown, type: string): unknown {
  if (type === 'int' || type === 'integer' || type === 'int4') {
    const n = Number(value)
    if (!Number.isInteger(n)) throw pgServerError('22P02', `invalid input syntax for type integer: "${String(value)}"`)
    return n
  }
  return value === null || value === undefined ? null : String(value)
}

/**
 * The twin's default handler: what PgPool itself sends and what the tests of the twin use, no more.
 * `select 1`; `select $n::int|text as name[, …]`; `select pg_sleep(x)` (x seconds, a literal or `$n`,
 * taken on the server's time); BEGIN/COMMIT/ROLLBACK. A statement that does not start with an SQL
 * keyword is a syntax error (42601), as on a server; any other statement is refused with 0A000
 * (feature_not_supported), never answered with made-up rows. Give the twin your own handler for the
 * statements your code sends.
 */
export function basicPgHandler(statement: PgStatement): PgAnswer {
  const sql = statement.sql.trim().replace(/;\s*$/, '')
  const word = /^\s*(\S+)/.exec(sql)?.[1] ?? ''
  if (!KEYWORDS.test(sql)) throw pgServerError('42601', `syntax error at or near "${word}"`)
  if (/^(begin|start transaction)$/i.test(sql)) return { command: 'BEGIN' }
  if (/^(commit|end)$/i.test(sql)) return { command: 'COMMIT' }
  if (/^rollback$/i.test(sql)) return { command: 'ROLLBACK' }
  if (/^select\s+1$/i.test(sql)) return { rows: [{ '?column?': 1 }], fields: ['?column?'] }
  const sleep = /^select\s+pg_sleep\(\s*(?:\$(\d+)|([0-9.]+))\s*\)$/i.exec(sql)
  if (sleep !== null) {
    const seconds = Number(sleep[1] !== undefined ? statement.params[Number(sleep[1]) - 1] : sleep[2])
    return { rows: [{ pg_sleep: '' }], fields: ['pg_sleep'], delayMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0 }
  }
  const columns = /^select\s+(.+)$/i.exec(sql)?.[1]?.split(',') ?? []
  const row: Record<string, unknown> = {}
  for (const column of columns) {
    const m = /^\s*\$(\d+)::(int|integer|int4|text)\s+as\s+([a-z_][a-z0-9_]*)\s*$/i.exec(column)
    if (m === null) throw pgServerError('0A000', `MemoryPostgres's basic handler does not answer: ${sql}`)
    row[(m[3] as string).toLowerCase()] = cast(statement.params[Number(m[1]) - 1], (m[2] as string).toLowerCase())
  }
  return { rows: [row], fields: Object.keys(row) }
}

/**
 * An in-memory PostgreSQL server for the simulator: sessions, an outage switch and a pluggable
 * statement handler. Each method is synchronous and atomic, so testing's SimulatedService can wrap
 * it (latency, stalls, lost replies); the client side of the connections — the pool, its checkout
 * and statement timeouts — is `memoryPgPort` (MemoryPgPort.ts).
 *
 * `down()` is a crash: every session ends (their sockets close: listeners hear it) and connects are
 * refused (ECONNREFUSED) until `up()`. Data lives in the handler, which a crash does not touch.
 */
export class MemoryPostgres {
  /** Statements answered (including those the handler refused). */
  statements = 0
  /** Sessions opened since the start. */
  connections = 0
  private readonly handler: PgQueryHandler
  private readonly maxConnections: number
  private readonly sessions = new Set<number>()
  private readonly closeListeners = new Set<(session: number) => void>()
  private nextSession = 1
  private isDown = false

  constructor(options: MemoryPostgresOptions = {}) {
    this.handler = options.handler ?? basicPgHandler
    this.maxConnections = options.maxConnections ?? 100
  }

  /** Sessions open now. */
  get sessionCount(): number {
    return this.sessions.size
  }

  /** False between `down()` and `up()`. */
  get running(): boolean {
    return !this.isDown
  }

  /** Crashes the server: every session ends, connects are refused until `up()`. */
  down(): void {
    this.isDown = true
    const ended = [...this.sessions]
    this.sessions.clear()
    for (const session of ended) for (const listener of this.closeListeners) listener(session)
  }

  up(): void {
    this.isDown = false
  }

  /** Hears every session the server ends by itself (not those the client closes): the socket's close, as a client sees it. */
  onSessionClosed(listener: (session: number) => void): () => void {
    this.closeListeners.add(listener)
    return () => {
      this.closeListeners.delete(listener)
    }
  }

  /** Opens a session; its id goes with every statement. */
  connect(): number {
    if (this.isDown) throw socketError('ECONNREFUSED', 'connect ECONNREFUSED (MemoryPostgres is down)')
    if (this.sessions.size >= this.maxConnections) throw pgServerError('53300', 'sorry, too many clients already', 'FATAL')
    const session = this.nextSession++
    this.sessions.add(session)
    this.connections++
    return session
  }

  /** Runs one statement on `session`. */
  query(session: number, sql: string, params: readonly unknown[] = []): PgServerAnswer {
    if (!this.sessions.has(session)) throw new Error('Connection terminated unexpectedly')
    this.statements++
    const answer = this.handler({ sql, params, session })
    const rows = answer.rows ?? []
    const names = answer.fields ?? (rows[0] === undefined ? [] : Object.keys(rows[0]))
    const command = answer.command ?? (/^\s*(\w+)/.exec(sql)?.[1] ?? '').toUpperCase()
    return { rows, rowCount: answer.rowCount ?? rows.length, command, fields: names.map((name) => ({ name })), delayMs: answer.delayMs ?? 0 }
  }

  /** The client closes its session (a released-and-destroyed or idle-closed connection). */
  disconnect(session: number): void {
    this.sessions.delete(session)
  }
}
