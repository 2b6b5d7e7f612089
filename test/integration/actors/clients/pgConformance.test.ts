/**
 * What the PostgreSQL twin claims to model, run as the same cases against a real PostgreSQL (a
 * server this file starts and kills) and against the twin (MemoryPostgres + memoryPgPort on the
 * system clock), both through PgPool: result shape, SQLSTATE errors that never open the breaker,
 * transactions (commit, rollback with the function's error), pool exhaustion (callers wait, then
 * ERR_PG_TIMEOUT at the checkout), a statement past its deadline (ERR_PG_TIMEOUT in the query, the
 * connection replaced), and a crash under load (the shared outage scenario: typed errors only, the
 * breaker opens, health flips once each way, /readyz follows, no restart, service again after).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryPgPort, MemoryPostgres, PgPool, type PgPoolOptions, type PgPoolProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitForValue } from '../../../../testing/index.ts'
import { LocalPostgresServer } from '../../../support/dataServices.ts'
import { BREAKER, HEALTH, outageScenario } from './outage.ts'
import { record, underSupervisor } from './support.ts'

interface Target {
  readonly label: string
  /** Where PgPool connects: a connection string, or the twin's port. */
  connection(): Pick<PgPoolOptions, 'connectionString' | 'port'>
  crash(): Promise<void>
  resume(): Promise<void>
}

let real: LocalPostgresServer | null = null
const twin = new MemoryPostgres()

const targets: Target[] = [
  {
    label: 'real PostgreSQL',
    connection: () => ({ connectionString: (real as LocalPostgresServer).url }),
    crash: () => (real as LocalPostgresServer).crash(),
    resume: () => (real as LocalPostgresServer).resume(),
  },
  {
    label: 'the twin',
    connection: () => ({ port: memoryPgPort(twin) }),
    crash: async () => twin.down(),
    resume: async () => twin.up(),
  },
]

beforeAll(async () => {
  real = await LocalPostgresServer.start()
}, 60_000)
afterAll(async () => {
  await real?.stop()
})

async function start(target: Target, name: string, extra: Partial<PgPoolOptions> = {}) {
  const system = ActorSystem.create({ name, clock: new SystemClock() })
  const seen = record(system)
  const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, { name: 'db', args: [{ name: 'db', ...target.connection(), health: { intervalMs: 100 }, ...extra }] })
  return { system, seen, db }
}

describe.each(targets)('PgPool on $label', (target) => {
  it('answers the same result shape', async () => {
    const { system, db } = await start(target, 'conf-shape')
    try {
      expect(await db.ask('query', 'select $1::int as i, $2::text as t', [7, 'x'])).toEqual({ rows: [{ i: 7, t: 'x' }], rowCount: 1, command: 'SELECT', fields: ['i', 't'] })
      expect(await db.ask('query', 'select 1')).toEqual({ rows: [{ '?column?': 1 }], rowCount: 1, command: 'SELECT', fields: ['?column?'] })
    } finally {
      await system.terminate()
    }
  })

  it('types statement errors with their SQLSTATE and never opens the breaker for them', async () => {
    const { system, seen, db } = await start(target, 'conf-sqlstate')
    try {
      for (let i = 0; i < 12; i++) await expect(db.ask('query', 'selec nonsense')).rejects.toMatchObject({ code: 'ERR_PG_QUERY', data: { sqlstate: '42601' } })
      await expect(db.ask('query', 'select $1::int as i', ['seven'])).rejects.toMatchObject({ code: 'ERR_PG_QUERY', data: { sqlstate: '22P02' } })
      expect(seen.breaker).toEqual([])
      expect((await db.ask('query', 'select $1::int as i', [1])).rows).toEqual([{ i: 1 }])
    } finally {
      await system.terminate()
    }
  })

  it('commits a transaction with its value and rolls back on the function’s error', async () => {
    const { system, db } = await start(target, 'conf-tx')
    try {
      expect(await db.ask('transaction', async (tx) => (await tx.query<{ i: number }>('select $1::int as i', [5])).rows[0]?.i)).toBe(5)
      const own = new Error('business rule')
      await expect(
        db.ask('transaction', async (tx) => {
          await tx.query('select 1')
          throw own
        }),
      ).rejects.toMatchObject({ code: 'ERR_PG_ROLLED_BACK', cause: own })
      expect((await db.ask('stats')).inFlight).toBe(0)
    } finally {
      await system.terminate()
    }
  })

  it('makes callers wait when the pool is exhausted, then fails the checkout with ERR_PG_TIMEOUT', async () => {
    const { system, db } = await start(target, 'conf-exhaust', { pool: { max: 2 }, checkoutTimeoutMs: 400, health: { intervalMs: 60_000 } })
    try {
      await waitForValue(() => db.ask('health'), (h) => h.status === 'healthy')
      const sleeping = [db.ask('query', 'select pg_sleep($1)', [1.5]), db.ask('query', 'select pg_sleep($1)', [1.5])]
      await waitForValue(() => db.ask('stats'), (s) => s.inFlight === 2 && s.idle === 0)
      const third = db.ask('query', 'select 1').catch((e: unknown) => e)
      await waitForValue(() => db.ask('stats'), (s) => s.waiting === 1)
      expect(await third).toMatchObject({ code: 'ERR_PG_TIMEOUT', data: { phase: 'checkout' } })
      await Promise.all(sleeping)
      expect((await db.ask('query', 'select 1')).rowCount).toBe(1)
      expect((await db.ask('stats')).total).toBeLessThanOrEqual(2)
    } finally {
      await system.terminate()
    }
  })

  it('fails a statement past its deadline with ERR_PG_TIMEOUT and serves the next on a sound connection', async () => {
    const { system, db } = await start(target, 'conf-slow', { pool: { max: 1 }, queryTimeoutMs: 300 })
    try {
      const began = performance.now()
      await expect(db.ask('query', 'select pg_sleep($1)', [3])).rejects.toMatchObject({ code: 'ERR_PG_TIMEOUT', data: { phase: 'query' } })
      expect(performance.now() - began).toBeLessThan(2000)
      expect((await db.ask('query', 'select $1::int as i', [2])).rows).toEqual([{ i: 2 }])
    } finally {
      await system.terminate()
    }
  })

  // On the real server this is PgPool's outage test (PostgreSQL SIGKILLed and restarted under load).
  it('goes through a crash under load like the real thing', async () => {
    const system = ActorSystem.create({ name: 'conf-outage', clock: new SystemClock() })
    const seen = record(system)
    const db = (await underSupervisor<PgPool>(system, PgPool, {
      name: 'db',
      ...target.connection(),
      pool: { max: 4 },
      checkoutTimeoutMs: 1000,
      queryTimeoutMs: 2000,
      health: HEALTH,
      breaker: BREAKER,
    })) as ActorRef<PgPoolProtocol>
    try {
      await outageScenario({
        system,
        seen,
        client: db,
        name: 'db',
        breakerName: 'pg:db',
        call: (i) => db.ask('query', 'select $1::int as i', [i]),
        crash: () => target.crash(),
        resume: () => target.resume(),
      })
    } finally {
      await system.terminate()
    }
  }, 90_000)
})
