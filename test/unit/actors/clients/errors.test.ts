import { describe, expect, it } from 'vitest'
import { ClientInvalidConfigError, isPgServiceFault, isRedisServiceFault, mapPgError, mapRedisError, PgPool, RedisClient } from '../../../../actors/index.ts'
import { ActorSystem } from '../../../../runtime/index.ts'

/** What pg throws for a server error: a DatabaseError with the SQLSTATE in `code`. */
function dbError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, severity: 'ERROR', ...extra })
}

describe('mapPgError', () => {
  it('keeps the SQLSTATE and the server fields in data; a statement error is not a service fault', () => {
    const e = mapPgError(dbError('23505', 'duplicate key value violates unique constraint "t_pkey"', { constraint: 't_pkey', table: 't', detail: 'Key (id)=(1) already exists.' }), 'db')
    expect(e).toMatchObject({ code: 'ERR_PG_QUERY', data: { client: 'db', sqlstate: '23505', constraint: 't_pkey', table: 't', severity: 'ERROR' } })
    expect(isPgServiceFault(e)).toBe(false)
    expect(isPgServiceFault(mapPgError(dbError('53300', 'too many connections'), 'db'))).toBe(true)
  })

  it('connection refused, terminated, admin shutdown and class 08 are connection errors (service faults)', () => {
    for (const raw of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      new Error('Connection terminated unexpectedly'),
      dbError('57P01', 'terminating connection due to administrator command'),
      dbError('08006', 'connection failure'),
    ]) {
      const e = mapPgError(raw, 'db')
      expect(e).toMatchObject({ code: 'ERR_PG_CONNECTION' })
      expect(isPgServiceFault(e)).toBe(true)
      expect(e.cause).toBe(raw)
    }
  })

  it('checkout and query timeouts are timeouts; anything after close is ERR_PG_CLOSED; typed errors pass through', () => {
    expect(mapPgError(new Error('timeout exceeded when trying to connect'), 'db')).toMatchObject({ code: 'ERR_PG_TIMEOUT', data: { phase: 'checkout' } })
    expect(mapPgError(new Error('Query read timeout'), 'db')).toMatchObject({ code: 'ERR_PG_TIMEOUT', data: { phase: 'query' } })
    expect(mapPgError(new Error('Cannot use a pool after calling end on the pool'), 'db', true)).toMatchObject({ code: 'ERR_PG_CLOSED' })
    const typed = mapPgError(dbError('42601', 'syntax error'), 'db')
    expect(mapPgError(typed, 'db')).toBe(typed)
  })
})

describe('mapRedisError', () => {
  it('error replies keep their prefix; only server-state replies are service faults', () => {
    const wrongType = mapRedisError(Object.assign(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'), { name: 'ReplyError' }), 'cache', 'INCR', 100)
    expect(wrongType).toMatchObject({ code: 'ERR_REDIS_COMMAND', data: { prefix: 'WRONGTYPE', command: 'INCR' } })
    expect(isRedisServiceFault(wrongType)).toBe(false)
    const busy = mapRedisError(Object.assign(new Error('BUSY Redis is busy running a script'), { name: 'ReplyError' }), 'cache', 'GET', 100)
    expect(isRedisServiceFault(busy)).toBe(true)
  })

  it('timeouts, a closed stream and refused connections are typed', () => {
    expect(mapRedisError(new Error('Command timed out'), 'cache', 'GET', 250)).toMatchObject({ code: 'ERR_REDIS_TIMEOUT', data: { timeoutMs: 250 } })
    expect(mapRedisError(new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'cache', 'GET', 1)).toMatchObject({ code: 'ERR_REDIS_CONNECTION' })
    expect(mapRedisError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'cache', 'GET', 1)).toMatchObject({ code: 'ERR_REDIS_CONNECTION', data: { reason: 'ECONNREFUSED' } })
    expect(mapRedisError(new Error('Connection is closed.'), 'cache', 'GET', 1, true)).toMatchObject({ code: 'ERR_REDIS_CLOSED' })
  })
})

/** The ClientInvalidConfigError behind a failed spawn (thrown at once or as a rejection, wrapped in the start failure). */
async function startFailure(spawn: () => Promise<unknown>): Promise<unknown> {
  let error: unknown = null
  try {
    await spawn()
  } catch (e) {
    error = e
  }
  while (error !== null && typeof error === 'object' && (error as { code?: unknown }).code !== 'ERR_CLIENT_INVALID_CONFIG' && 'cause' in error) error = (error as { cause: unknown }).cause
  return error
}

describe('options', () => {
  it('bad options fail the spawn with ERR_CLIENT_INVALID_CONFIG listing every problem, and open no connection', async () => {
    const system = ActorSystem.create({ name: 'client-options' })
    // The constructor validates, so the spawn fails before any pool or socket exists; the typed error is the start failure's cause.
    const pg = await startFailure(() => system.spawnAndWait(PgPool, { args: [{ name: 'bad name!', health: { unhealthyAfter: 0, jitter: 2 }, checkoutTimeoutMs: -1 }] }))
    expect(pg).toMatchObject({ code: 'ERR_CLIENT_INVALID_CONFIG' })
    expect((pg as InstanceType<typeof ClientInvalidConfigError>).data).toMatchObject({ problems: expect.arrayContaining([expect.stringContaining('name'), expect.stringContaining('unhealthyAfter'), expect.stringContaining('jitter'), expect.stringContaining('checkoutTimeoutMs')]) })
    const redis = await startFailure(() => system.spawnAndWait(RedisClient, { args: [{ name: 'cache', commandTimeoutMs: 0, reconnect: { baseMs: 10, maxMs: 5 } }] }))
    expect(redis).toMatchObject({ code: 'ERR_CLIENT_INVALID_CONFIG' })
    expect((redis as { data: { problems: string[] } }).data.problems).toHaveLength(2)
    // Breaker options are checked with the rest, before anything connects; a longer open interval lifts the default backoff cap.
    const breaker = await startFailure(() => system.spawnAndWait(PgPool, { args: [{ name: 'db', breaker: { failureRateThreshold: 0 } }] }))
    expect((breaker as { data: { problems: string[] } }).data.problems).toEqual([expect.stringMatching(/^breaker: failureRateThreshold/)])
    const port = await startFailure(() => system.spawnAndWait(PgPool, { args: [{ name: 'db', port: 'postgres://x' as never }] }))
    expect((port as { data: { problems: string[] } }).data.problems).toEqual([expect.stringMatching(/^port must be a function/)])
    const long = await system.spawnAndWait(PgPool, { args: [{ name: 'db', connectionString: 'postgres://127.0.0.1:1/x', breaker: { waitInOpenMs: 60_000 } }] })
    await system.stop(long)
    await system.terminate()
  })
})
