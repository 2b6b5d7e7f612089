import type { ConnectionOptions } from 'node:tls'
import type pg from 'pg'
import { Actor, Rejection } from '../../runtime/index.ts'
import { ClientInvalidConfigError, PgBadCallError, PgClosedError, PgRolledBackError } from '../errors.ts'
import { resolveCommon, type CommonClientOptions, type ResolvedCommon } from './ClientOptions.ts'
import { ClientMetrics } from './ClientMetrics.ts'
import { ClientSupport } from './ClientSupport.ts'
import { fencedError, fenceProblem, PG_FENCE_TABLE, pgFenceReadSql, pgFenceSql, pgFenceTableSql, type Fence } from './Fence.ts'
import type { HealthSnapshot } from './Health.ts'
import { isPgServiceFault, mapPgError } from './pgErrors.ts'
import { pgDriverPort, type PgPort, type PgPortConnection, type PgPortFactory, type PgPortResult } from './PgPort.ts'

export interface PgPoolOptions extends CommonClientOptions {
  /** `postgres://user:password@host:port/db`; or give the fields in `pool`. */
  readonly connectionString?: string
  /** Passed to pg.Pool (max, idleTimeoutMillis, host, user, statement_timeout, …) except what the options below own. */
  readonly pool?: Omit<pg.PoolConfig, 'connectionString' | 'ssl' | 'connectionTimeoutMillis' | 'query_timeout'>
  /** TLS, passed through to pg as `ssl` (`true`, or node:tls options: ca, cert, key, servername, rejectUnauthorized, …). */
  readonly tls?: boolean | ConnectionOptions
  /** Longest wait for a pooled connection (or a new one). Default 5000. */
  readonly checkoutTimeoutMs?: number
  /** Client-side deadline for one statement (pg's query_timeout); 0: none. Default 30 000. */
  readonly queryTimeoutMs?: number
  /** The health check statement. Default `select 1`. */
  readonly healthQuery?: string
  /** The table of fencing tokens (`transaction(fn, { fence })`), created on first use. Default `troupe_fences`. */
  readonly fenceTable?: string
  /**
   * Instead of a pg.Pool of its own: the port to talk to, e.g. the twin for the simulator
   * (`memoryPgPort(new MemoryPostgres())`). `connectionString`, `tls` and the `pool` fields other
   * than `max` are then unused; `pool.max`, the timeouts and the actor's clock go to the factory.
   */
  readonly port?: PgPortFactory
}

/** Options of one transaction. */
export interface PgTransactionOptions {
  /**
   * Fences the transaction: before `fn`, the fence row `name` is raised to `token` in the same
   * transaction unless it holds a newer token; then nothing runs and the call rejects with
   * ERR_FENCED. The row stays locked until COMMIT, so holders of one name never interleave.
   */
  readonly fence?: Fence
}

/** A query's answer: plain data (it may cross a thread or a node). */
export interface PgResult<R = Record<string, unknown>> {
  readonly rows: R[]
  readonly rowCount: number
  readonly command: string
  readonly fields: string[]
}

/** A checked-out connection inside `transaction`: queries run on it, between BEGIN and COMMIT/ROLLBACK. */
export interface PgTransaction {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<PgResult<R>>
}

export interface PgPoolProtocol {
  /** Runs one statement on a pooled connection. Rejects with a typed error: ERR_PG_QUERY (SQLSTATE in `data`), ERR_PG_CONNECTION, ERR_PG_TIMEOUT, ERR_CALL_NOT_PERMITTED, ERR_PG_CLOSED. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<PgResult<R>>
  /**
   * Runs `fn` in a transaction on one checked-out connection: BEGIN, `fn`, COMMIT; ROLLBACK when
   * `fn` throws (ERR_PG_ROLLED_BACK with its error as `cause`, or its typed error as is). Same
   * actor system only (a function does not cross a hop).
   */
  transaction<T>(fn: (tx: PgTransaction) => Promise<T>, options?: PgTransactionOptions): Promise<T>
  health(): HealthSnapshot
  /** Pool figures: connections open, idle, callers waiting for one. */
  stats(): { total: number; idle: number; waiting: number; inFlight: number }
  /** Timer: one health check. */
  checkHealth(): Promise<void>
}

function toResult<R>(result: PgPortResult): PgResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0, command: result.command, fields: result.fields.map((f) => f.name) }
}

function resolvePg(options: PgPoolOptions): { common: ResolvedCommon; checkoutTimeoutMs: number; queryTimeoutMs: number; healthQuery: string; fenceTable: string } {
  const problems: string[] = []
  const common = resolveCommon(options, problems)
  const checkoutTimeoutMs = options.checkoutTimeoutMs ?? 5000
  const queryTimeoutMs = options.queryTimeoutMs ?? 30_000
  if (!(Number.isInteger(checkoutTimeoutMs) && checkoutTimeoutMs > 0)) problems.push(`checkoutTimeoutMs must be a positive integer, got ${checkoutTimeoutMs}`)
  if (!(Number.isInteger(queryTimeoutMs) && queryTimeoutMs >= 0)) problems.push(`queryTimeoutMs must be an integer ≥ 0, got ${queryTimeoutMs}`)
  if (options.connectionString !== undefined && typeof options.connectionString !== 'string') problems.push('connectionString must be a string')
  if (options.port !== undefined && typeof options.port !== 'function') problems.push('port must be a function (a PgPortFactory)')
  const max = options.pool?.max
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) problems.push(`pool.max must be a positive integer, got ${max}`)
  const healthQuery = options.healthQuery ?? 'select 1'
  if (typeof healthQuery !== 'string' || healthQuery.length === 0) problems.push('healthQuery must be a non-empty string')
  const fenceTable = options.fenceTable ?? 'troupe_fences'
  if (typeof fenceTable !== 'string' || !PG_FENCE_TABLE.test(fenceTable)) problems.push(`fenceTable must match ${String(PG_FENCE_TABLE)}`)
  if (problems.length > 0) throw new ClientInvalidConfigError(`invalid PgPool options: ${problems.join('; ')}`, { data: { problems } })
  return { common, checkoutTimeoutMs, queryTimeoutMs, healthQuery, fenceTable }
}

/**
 * A PostgreSQL pool as an actor: it owns a pool behind a port (PgPort.ts: a pg.Pool by default, the
 * twin under the simulator), runs every call through its breaker child, checks health with
 * hysteresis and reports pool metrics.
 *
 * A down server is not an actor failure: calls answer typed errors, the breaker opens and refuses
 * fast, health goes unhealthy and the checks (which are the reconnection probes: pg connects on
 * demand) back off to `health.maxIntervalMs`. The actor stays up, so a supervisor sees no failure
 * and there is no restart loop; restarts are left for bugs. Reentrant: calls wait on the server,
 * never on each other.
 */
export class PgPool extends Actor<PgPoolProtocol> implements PgPoolProtocol {
  static readonly reentrant = true
  private readonly support: ClientSupport
  private readonly pool: PgPort
  private readonly healthQuery: string
  private readonly fenceTable: string
  /** The fence table's creation, run once (concurrent first transactions share it). */
  private fenceTableReady: Promise<void> | null = null
  /** Connections checked out by calls of this actor, so a drain that runs out of time can cut them off. */
  private readonly checkedOut = new Set<PgPortConnection>()
  private unregister: (() => void) | null = null
  private poolEnded = false
  private readonly closedError = (): Error => new PgClosedError(`PostgreSQL pool '${this.support.options.name}' is closed`, { data: { client: this.support.options.name } })

  constructor(options: PgPoolOptions) {
    super()
    const resolved = resolvePg(options)
    this.healthQuery = resolved.healthQuery
    this.fenceTable = resolved.fenceTable
    this.support = new ClientSupport('pg', resolved.common, this.context, isPgServiceFault)
    const { max, ...poolConfig } = options.pool ?? {}
    const config: pg.PoolConfig = {
      ...poolConfig,
      ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
      ...(options.tls === undefined ? {} : { ssl: options.tls }),
    }
    const factory = options.port ?? pgDriverPort(config)
    this.pool = factory({
      max: max ?? 10,
      checkoutTimeoutMs: resolved.checkoutTimeoutMs,
      queryTimeoutMs: resolved.queryTimeoutMs,
      clock: this.context.system.clock,
      // A connection that breaks outside a call (server crash): health checks will notice; the process must not crash.
      onLost: (error) => this.context.log.debug({ err: String(error) }, 'PostgreSQL connection lost'),
    })
  }

  override async preStart(): Promise<void> {
    this.support.closing = false
    await this.support.start()
    if (this.support.options.registry !== null) {
      this.unregister = ClientMetrics.of(this.support.options.registry).add({ support: this.support, connections: () => this.connections() })
    }
    this.context.timers.startSingle('health', 0, 'checkHealth')
  }

  override async onStopping(): Promise<void> {
    this.context.timers.cancel('health')
    const drained = await this.support.drain()
    if (!drained) this.context.log.warn({ client: this.support.options.name, inFlight: this.support.inFlight }, 'PostgreSQL calls still running at the drain deadline: cut off')
    await this.endPool()
  }

  /** Cuts off what is still checked out (its callers get ERR_PG_CLOSED), then ends the pool. */
  private async endPool(): Promise<void> {
    this.poolEnded = true
    for (const client of this.checkedOut) client.release(true)
    this.checkedOut.clear()
    await this.pool.end()
  }

  override async preRestart(): Promise<void> {
    // The fresh instance makes its own pool: end this one (calls still out are cut off with ERR_PG_CLOSED).
    this.unregister?.()
    this.support.close()
    await this.endPool()
  }

  override postStop(): void {
    this.unregister?.()
    this.support.close()
  }

  query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<PgResult<R>> {
    if (typeof sql !== 'string' || sql.length === 0) return Promise.reject(new PgBadCallError('query: sql must be a non-empty string', { data: { method: 'query' } }))
    if (!Array.isArray(params)) return Promise.reject(new PgBadCallError('query: params must be an array', { data: { method: 'query' } }))
    return this.support.run(() => this.withClient((client) => client.query(sql, params as unknown[]).then((r) => toResult<R>(r))), this.closedError)
  }

  transaction<T>(fn: (tx: PgTransaction) => Promise<T>, options: PgTransactionOptions = {}): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new PgBadCallError('transaction: fn must be a function (same actor system only)', { data: { method: 'transaction' } }))
    const fence = options?.fence
    const problem = fence === undefined ? null : fenceProblem(fence)
    if (problem !== null) return Promise.reject(new PgBadCallError(`transaction: ${problem}`, { data: { method: 'transaction' } }))
    if (fence === undefined) return this.support.run(() => this.withClient((client) => this.runTransaction(client, fn)), this.closedError)
    return this.support.run(async () => {
      await (this.fenceTableReady ??= this.createFenceTable())
      return this.withClient((client) => this.runTransaction(client, fn, fence))
    }, this.closedError)
  }

  health(): HealthSnapshot {
    return this.support.snapshot()
  }

  stats(): { total: number; idle: number; waiting: number; inFlight: number } {
    return { ...this.connections(), inFlight: this.support.inFlight }
  }

  async checkHealth(): Promise<void> {
    if (this.support.closing) return
    const name = this.support.options.name
    const delay = await this.support.check(
      () => this.withClient((client) => client.query(this.healthQuery)),
      (error) => (error as { code?: string }).code === 'ERR_PG_TIMEOUT' ? 'ERR_PG_TIMEOUT' : ((mapPgError(error, name) as { code?: string }).code ?? 'ERR_PG_CONNECTION'),
      'ERR_PG_TIMEOUT',
    )
    if (!this.support.closing) this.context.timers.startSingle('health', delay, 'checkHealth')
  }

  private connections(): { total: number; idle: number; waiting: number } {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  /**
   * Checks a connection out, runs `work`, and gives it back; a connection whose work failed for a
   * connection reason is destroyed rather than returned (pg would hand it out again otherwise).
   * Every error leaves here typed.
   */
  private async withClient<T>(work: (client: PgPortConnection) => Promise<T>): Promise<T> {
    const name = this.support.options.name
    let client: PgPortConnection
    try {
      client = await this.pool.connect()
    } catch (error) {
      throw mapPgError(error, name, this.poolEnded)
    }
    this.checkedOut.add(client)
    try {
      const value = await work(client)
      this.release(client, false)
      return value
    } catch (error) {
      const typed = mapPgError(error, name, this.poolEnded && !this.checkedOut.has(client))
      this.release(client, isPgServiceFault(typed))
      throw typed
    }
  }

  private release(client: PgPortConnection, destroy: boolean): void {
    if (!this.checkedOut.delete(client)) return // already cut off by the drain
    client.release(destroy)
  }

  private async runTransaction<T>(client: PgPortConnection, fn: (tx: PgTransaction) => Promise<T>, fence?: Fence): Promise<T> {
    const name = this.support.options.name
    await client.query('BEGIN')

    const tx: PgTransaction = {
      query: async <R>(sql: string, params: readonly unknown[] = []) => {
        try {
          return toResult<R>(await client.query(sql, params as unknown[]))
        } catch (error) {
          throw mapPgError(error, name)
        }
      },
    }
    let value: T
    try {
      // The fence first, in the transaction: a refusal (typed) rolls back like any failed statement.
      if (fence !== undefined) await this.raiseFence(tx, fence)
      value = await fn(tx)
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackError) {
        // The connection is gone (the server rolls back by itself): report the connection failure.
        throw mapPgError(rollbackError, name)
      }
      // A typed answer (a failed statement inside, a breaker refusal) goes back as it is; anything else is the function's own failure.
      if (error instanceof Rejection) throw error
      const message = error instanceof Error ? error.message : String(error)
      throw new PgRolledBackError(`transaction rolled back: ${message}`, { cause: error, data: { client: name, name: error instanceof Error ? error.name : typeof error, message } })
    }
    await client.query('COMMIT')
    return value
  }

  private async raiseFence(tx: PgTransaction, fence: Fence): Promise<void> {
    const { term, version } = fence.token
    const raised = await tx.query(pgFenceSql(this.fenceTable), [fence.name, term, version])
    if (raised.rowCount > 0) return
    const highest = (await tx.query<{ term: string; version: string }>(pgFenceReadSql(this.fenceTable), [fence.name])).rows[0]
    throw fencedError(this.support.options.name, fence, { term: Number(highest?.term), version: Number(highest?.version) })
  }

  private createFenceTable(): Promise<void> {
    // Two sessions creating the table at once can collide in the catalog (23505/42P07): it exists then.
    const created = this.withClient((client) => client.query(pgFenceTableSql(this.fenceTable))).then(
      () => {},
      (error: { data?: { sqlstate?: string } }) => {
        if (error.data?.sqlstate === '23505' || error.data?.sqlstate === '42P07') return
        this.fenceTableReady = null
        throw error
      },
    )
    return created
  }
}
