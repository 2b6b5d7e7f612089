import pg from 'pg'
import type { Clock } from '../../runtime/index.ts'

/** One statement's answer as the driver gives it (pg's QueryResult has this shape). */
export interface PgPortResult {
  readonly rows: Record<string, unknown>[]
  readonly rowCount: number | null
  readonly command: string
  readonly fields: readonly { readonly name: string }[]
}

/** A checked-out connection: statements run on it one after another, until it is released. */
export interface PgPortConnection {
  query(sql: string, params?: unknown[]): Promise<PgPortResult>
  /** Back to the pool; `destroy`: close it instead (it broke, or the pool is going away). */
  release(destroy?: boolean): void
}

/**
 * What PgPool needs from a PostgreSQL pool: pg.Pool's shape. Failures are pg's: a server error has
 * its SQLSTATE in `code` and a `severity`; a socket failure an errno `code` (ECONNREFUSED, …); a
 * checkout that waited too long says `timeout exceeded when trying to connect`, a statement past
 * its deadline `Query read timeout`, a broken connection `Connection terminated unexpectedly`.
 * PgPool's error mapping (pgErrors.ts) reads exactly these, so each implementation answers them.
 *
 * Two implementations: `pgDriverPort` (a real pg.Pool) and `memoryPgPort` (MemoryPgPort.ts, the
 * twin over MemoryPostgres for the simulator).
 */
export interface PgPort {
  connect(): Promise<PgPortConnection>
  /** Closes idle connections and refuses new checkouts; connections still out close when released. */
  end(): Promise<void>
  /** Connections open or being opened. */
  readonly totalCount: number
  readonly idleCount: number
  /** Checkouts waiting for a connection. */
  readonly waitingCount: number
}

/** What PgPool hands a port factory: the settings it owns, its clock, and where lost idle connections are reported. */
export interface PgPortSettings {
  /** Most connections at once. */
  readonly max: number
  /** Longest wait for a checkout (a pooled connection or a new one). */
  readonly checkoutTimeoutMs: number
  /** Deadline of one statement; 0: none. */
  readonly queryTimeoutMs: number
  /** The actor system's clock (the simulation's under the simulator). */
  readonly clock: Clock
  /** An idle or checked-out connection broke outside a call (server restart): logged, never thrown. */
  readonly onLost: (error: Error) => void
}

/** Makes the port a PgPool talks to; called once per actor instance (a restart makes a fresh one). */
export type PgPortFactory = (settings: PgPortSettings) => PgPort

/**
 * The real port: a pg.Pool built from `config` plus PgPool's settings. pg keeps its own timers
 * (connectionTimeoutMillis, query_timeout) on the host clock: a real server lives in real time.
 */
export function pgDriverPort(config: Omit<pg.PoolConfig, 'max' | 'connectionTimeoutMillis' | 'query_timeout'>): PgPortFactory {
  return (settings) => {
    const pool = new pg.Pool({
      ...config,
      max: settings.max,
      connectionTimeoutMillis: settings.checkoutTimeoutMs,
      ...(settings.queryTimeoutMs > 0 ? { query_timeout: settings.queryTimeoutMs } : {}),
    })
    // An idle connection that breaks (server crash) is reported on the pool; a checked-out one on the
    // client itself (pg-pool listens only while it is idle). The call running on it gets its own typed
    // error; these emitters must not crash the process.
    pool.on('error', settings.onLost)
    pool.on('connect', (client) => client.on('error', settings.onLost))
    return pool
  }
}
