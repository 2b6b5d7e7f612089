import type { Clock, TimerHandle } from '../../runtime/index.ts'
import type { MemoryPostgres, PgServerAnswer } from './MemoryPostgres.ts'
import type { PgPort, PgPortConnection, PgPortFactory, PgPortResult, PgPortSettings } from './PgPort.ts'

/**
 * How the twin's connections reach the server: MemoryPostgres's own methods, answered later. Pass
 * a testing SimulatedService's `client` over the same MemoryPostgres for the network (latency,
 * stalls, refused or lost calls, all drawn from the simulation's seed).
 */
export interface PgServerPort {
  connect(): Promise<number>
  query(session: number, sql: string, params: readonly unknown[]): Promise<PgServerAnswer>
  disconnect(session: number): Promise<unknown>
}

export interface MemoryPgPortOptions {
  /** The network between pool and server; default: the server itself, each answer on a later microtask. */
  readonly via?: PgServerPort
}

const closedError = (): Error => new Error('Cannot use a pool after calling end on the pool')
const terminated = (): Error => new Error('Connection terminated unexpectedly')

/**
 * The simulator's own failures, in the driver's words (so PgPool maps them as it would pg's):
 * a refused call is a refused connect or a broken connection; a lost reply, a timeout.
 */
function driverError(error: unknown, phase: 'connect' | 'query'): unknown {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ERR_SIM_SERVICE_UNAVAILABLE') return phase === 'connect' ? Object.assign(new Error('connect ECONNREFUSED (simulated)'), { code: 'ECONNREFUSED', cause: error }) : Object.assign(terminated(), { cause: error })
  if (code === 'ERR_SIM_SERVICE_TIMEOUT') return Object.assign(new Error(phase === 'connect' ? 'Connection terminated due to connection timeout' : 'Query read timeout'), { cause: error })
  return error
}

function direct(server: MemoryPostgres): PgServerPort {
  return {
    connect: () => Promise.resolve().then(() => server.connect()),
    query: (session, sql, params) => Promise.resolve().then(() => server.query(session, sql, params)),
    disconnect: (session) => Promise.resolve().then(() => server.disconnect(session)),
  }
}

/**
 * The twin of pg.Pool over a MemoryPostgres, for PgPool's `port` option: what pg-pool does, on the
 * injected clock. At most `max` connections, opened on demand; an idle one is reused (the most
 * recent first); checkouts beyond `max` wait in order and fail after `checkoutTimeoutMs` with pg's
 * message; a statement past `queryTimeoutMs` fails with pg's `Query read timeout`; a session the
 * server ends (a crash) drops an idle connection from the pool at once and fails the statement
 * running on a checked-out one, as a closed socket does. Not modelled: idle timeouts, maxUses,
 * statements queued on one connection (PgPool never sends two at once on one).
 */
export function memoryPgPort(server: MemoryPostgres, options: MemoryPgPortOptions = {}): PgPortFactory {
  return (settings) => new MemoryPgPool(server, options.via ?? direct(server), settings)
}

interface Waiter {
  /** False when the waiter has given up already. */
  give(connection: TwinConnection): boolean
  fail(error: Error): void
}

class TwinConnection implements PgPortConnection {
  dead = false
  out = true
  /** Fails the statement in flight (its socket closed). */
  abort: ((error: Error) => void) | null = null
  readonly session: number
  private readonly pool: MemoryPgPool

  constructor(pool: MemoryPgPool, session: number) {
    this.pool = pool
    this.session = session
  }

  query(sql: string, params: unknown[] = []): Promise<PgPortResult> {
    if (this.dead) return Promise.reject(new Error('Client has encountered a connection error and is not queryable'))
    const { clock, queryTimeoutMs } = this.pool.settings
    return new Promise<PgPortResult>((resolve, reject) => {
      let done = false
      let timer: TimerHandle | null = null
      const finish = (error: unknown, result?: PgPortResult): void => {
        if (done) return
        done = true
        this.abort = null
        if (timer !== null) clock.clearTimer(timer)
        if (error === null) resolve(result as PgPortResult)
        else reject(error)
      }
      if (queryTimeoutMs > 0) timer = clock.setTimer(queryTimeoutMs, () => finish(new Error('Query read timeout')))
      this.abort = (error) => finish(error)
      this.pool.via.query(this.session, sql, params).then(
        (answer) => {
          const result: PgPortResult = { rows: answer.rows, rowCount: answer.rowCount, command: answer.command, fields: answer.fields }
          // The statement ran that long on the server: its reply is that much later.
          if (answer.delayMs > 0 && !done) clock.setTimer(answer.delayMs, () => finish(null, result))
          else finish(null, result)
        },
        (error: unknown) => finish(driverError(error, 'query')),
      )
    })
  }

  release(destroy = false): void {
    if (!this.out) return
    this.out = false
    this.pool.checkIn(this, destroy)
  }
}

class MemoryPgPool implements PgPort {
  readonly settings: PgPortSettings
  readonly via: PgServerPort
  private readonly clock: Clock
  private readonly idle: TwinConnection[] = []
  private readonly waiters: Waiter[] = []
  private readonly bySession = new Map<number, TwinConnection>()
  private total = 0
  private ended = false
  private readonly unlisten: () => void

  constructor(server: MemoryPostgres, via: PgServerPort, settings: PgPortSettings) {
    this.settings = settings
    this.via = via
    this.clock = settings.clock
    this.unlisten = server.onSessionClosed((session) => this.lost(session))
  }

  get totalCount(): number {
    return this.total
  }
  get idleCount(): number {
    return this.idle.length
  }
  get waitingCount(): number {
    return this.waiters.length
  }

  connect(): Promise<PgPortConnection> {
    if (this.ended) return Promise.reject(closedError())
    const idle = this.idle.pop()
    if (idle !== undefined) {
      idle.out = true
      return Promise.resolve(idle)
    }
    if (this.total < this.settings.max) return this.open()
    return new Promise<PgPortConnection>((resolve, reject) => {
      let settled = false
      let timer: TimerHandle | null = null
      const waiter: Waiter = {
        give: (connection) => {
          if (settled) return false
          settled = true
          if (timer !== null) this.clock.clearTimer(timer)
          connection.out = true
          resolve(connection)
          return true
        },
        fail: (error) => {
          if (settled) return
          settled = true
          if (timer !== null) this.clock.clearTimer(timer)
          reject(error)
        },
      }
      timer = this.clock.setTimer(this.settings.checkoutTimeoutMs, () => {
        const at = this.waiters.indexOf(waiter)
        if (at >= 0) this.waiters.splice(at, 1)
        waiter.fail(new Error('timeout exceeded when trying to connect'))
      })
      this.waiters.push(waiter)
    })
  }

  /** Opens a new connection (counted from the start, as pg-pool does), within the checkout timeout. */
  private open(): Promise<TwinConnection> {
    this.total++
    return new Promise<TwinConnection>((resolve, reject) => {
      let done = false
      const gaveUp = (error: unknown): void => {
        done = true
        this.total--
        reject(error)
        this.pulse()
      }
      const timer = this.clock.setTimer(this.settings.checkoutTimeoutMs, () => {
        if (!done) gaveUp(new Error('Connection terminated due to connection timeout'))
      })
      this.via.connect().then(
        (session) => {
          if (done || this.ended) {
            // Too late (pg ends such a client), or the pool has ended meanwhile.
            this.via.disconnect(session).catch(() => {})
            if (!done) {
              this.clock.clearTimer(timer)
              gaveUp(closedError())
            }
            return
          }
          done = true
          this.clock.clearTimer(timer)
          const connection = new TwinConnection(this, session)
          this.bySession.set(session, connection)
          resolve(connection)
        },
        (error: unknown) => {
          if (done) return
          this.clock.clearTimer(timer)
          gaveUp(driverError(error, 'connect'))
        },
      )
    })
  }

  /** A released connection: to the first waiter, else idle; closed when broken, destroyed or the pool has ended. */
  checkIn(connection: TwinConnection, destroy: boolean): void {
    if (destroy || connection.dead || this.ended) {
      this.drop(connection)
      if (!connection.dead) this.via.disconnect(connection.session).catch(() => {})
      connection.dead = true
      this.pulse()
      return
    }
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) if (waiter.give(connection)) return
    this.idle.push(connection)
  }

  /** The server ended `session` (its socket closed). */
  private lost(session: number): void {
    const connection = this.bySession.get(session)
    if (connection === undefined) return
    connection.dead = true
    connection.abort?.(terminated())
    if (connection.out) return // counted until its holder releases it
    const at = this.idle.indexOf(connection)
    if (at >= 0) this.idle.splice(at, 1)
    this.drop(connection)
    this.settings.onLost(terminated())
    this.pulse()
  }

  private drop(connection: TwinConnection): void {
    if (this.bySession.delete(connection.session)) this.total--
  }

  /** Room freed up: open connections for waiters, first come first served. */
  private pulse(): void {
    while (!this.ended && this.waiters.length > 0 && this.total < this.settings.max) {
      const waiter = this.waiters.shift() as Waiter
      this.open().then(
        (connection) => {
          connection.out = false
          if (!waiter.give(connection)) this.checkIn(connection, false)
        },
        (error: Error) => waiter.fail(error),
      )
    }
  }

  end(): Promise<void> {
    if (this.ended) return Promise.resolve()
    this.ended = true
    this.unlisten()
    for (const waiter of this.waiters.splice(0)) waiter.fail(closedError())
    for (const connection of this.idle.splice(0)) {
      this.drop(connection)
      connection.dead = true
      this.via.disconnect(connection.session).catch(() => {})
    }
    return Promise.resolve()
  }
}
