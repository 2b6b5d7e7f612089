/**
 * PgPool against a real PostgreSQL (the run's shared server from the ladder; each test in its own
 * schema): queries, transactions, typed errors with SQLSTATE, metrics, and the graceful close.
 */
import { Registry } from 'prom-client'
import { describe, expect, inject, it } from 'vitest'
import { PgPool, type PgPoolProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitForValue } from '../../../../testing/index.ts'
import { uniqueSchema } from '../../../support/dataServices.ts'
import { record } from './support.ts'

async function start(name: string, extra: Record<string, unknown> = {}) {
  const system = ActorSystem.create({ name, clock: new SystemClock() })
  const seen = record(system)
  const registry = new Registry()
  const schema = uniqueSchema(name)
  const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, {
    name: 'db',
    args: [{ name: 'db', connectionString: inject('databaseUrl'), pool: { max: 4, options: `-c search_path=${schema}` }, health: { intervalMs: 100 }, registry, ...extra }],
  })
  await db.ask('query', `create schema ${schema}`)
  await db.ask('query', 'create table accounts (id int primary key, balance int not null check (balance >= 0))')
  const cleanup = async () => {
    await db.ask('query', `drop schema ${schema} cascade`).catch(() => {})
    await system.terminate()
  }
  return { system, seen, registry, db, cleanup }
}

describe('PgPool', () => {
  it('runs parameterised queries and answers plain results', async () => {
    const { db, registry, seen, cleanup } = await start('pgquery')
    try {
      const insert = await db.ask('query', 'insert into accounts values ($1, $2), ($3, $4)', [1, 100, 2, 50])
      expect(insert).toMatchObject({ rowCount: 2, command: 'INSERT' })
      const select = await db.ask('query', 'select id, balance from accounts where balance > $1 order by id', [10])
      expect(select).toEqual({ rows: [{ id: 1, balance: 100 }, { id: 2, balance: 50 }], rowCount: 2, command: 'SELECT', fields: ['id', 'balance'] })
      await waitForValue(() => db.ask('health'), (h) => h.status === 'healthy')
      expect(seen.health.filter((t) => t.client === 'db')).toEqual([expect.objectContaining({ from: 'starting', to: 'healthy', seq: 1 })])
      const stats = await db.ask('stats')
      expect(stats.total).toBeGreaterThanOrEqual(1)
      expect(stats.total).toBeLessThanOrEqual(4)
      const text = await registry.metrics()
      expect(text).toMatch(/troupe_client_connections\{kind="pg",name="db",state="total"\} [1-4]/)
      expect(text).toMatch(/troupe_client_waiting\{kind="pg",name="db"\} 0/)
      expect(text).toMatch(/troupe_client_healthy\{kind="pg",name="db"\} 1/)
      expect(text).toMatch(/troupe_client_calls_total\{kind="pg",name="db",outcome="ok"\} [1-9]/)
      expect(text).toContain('troupe_breaker_state{name="pg:db",state="closed"} 1')
    } finally {
      await cleanup()
    }
  })

  it('statement errors are typed with their SQLSTATE and never open the breaker', async () => {
    const { db, seen, cleanup } = await start('pgerrors')
    try {
      await db.ask('query', 'insert into accounts values (1, 1)')
      await expect(db.ask('query', 'insert into accounts values (1, 1)')).rejects.toMatchObject({ code: 'ERR_PG_QUERY', data: { sqlstate: '23505', constraint: 'accounts_pkey', table: 'accounts' } })
      for (let i = 0; i < 30; i++) await expect(db.ask('query', 'selec nonsense')).rejects.toMatchObject({ code: 'ERR_PG_QUERY', data: { sqlstate: '42601' } })
      await expect(db.ask('query', '')).rejects.toMatchObject({ code: 'ERR_PG_BAD_CALL' })
      await expect(db.ask('query', 'select 1', 'nope' as unknown as unknown[])).rejects.toMatchObject({ code: 'ERR_PG_BAD_CALL' })
      expect(seen.breaker).toEqual([])
      expect((await db.ask('query', 'select count(*)::int as n from accounts')).rows).toEqual([{ n: 1 }])
    } finally {
      await cleanup()
    }
  })

  it('transactions commit on one connection, roll back when the function fails, and report why', async () => {
    const { db, cleanup } = await start('pgtx')
    try {
      await db.ask('query', 'insert into accounts values (1, 100), (2, 0)')
      const moved = await db.ask('transaction', async (tx) => {
        await tx.query('update accounts set balance = balance - $1 where id = 1', [30])
        await tx.query('update accounts set balance = balance + $1 where id = 2', [30])
        // Same connection: the transaction sees its own uncommitted writes.
        return (await tx.query<{ balance: number }>('select balance from accounts where id = 2')).rows[0]?.balance
      })
      expect(moved).toBe(30)
      // A statement that fails inside: its typed error comes back, and the whole transaction is undone.
      await expect(
        db.ask('transaction', async (tx) => {
          await tx.query('update accounts set balance = balance + 1000 where id = 2')
          await tx.query('update accounts set balance = balance - 1000 where id = 1') // violates the check
        }),
      ).rejects.toMatchObject({ code: 'ERR_PG_QUERY', data: { sqlstate: '23514' } })
      // The function's own failure: ERR_PG_ROLLED_BACK with it as the cause.
      const own = new Error('insufficient funds by business rule')
      await expect(
        db.ask('transaction', async (tx) => {
          await tx.query('update accounts set balance = 0 where id = 1')
          throw own
        }),
      ).rejects.toMatchObject({ code: 'ERR_PG_ROLLED_BACK', cause: own, data: { message: own.message } })
      expect((await db.ask('query', 'select id, balance from accounts order by id')).rows).toEqual([
        { id: 1, balance: 70 },
        { id: 2, balance: 30 },
      ])
      expect((await db.ask('stats')).inFlight).toBe(0)
    } finally {
      await cleanup()
    }
  })

  it('a graceful stop lets running queries finish, refuses new ones, then ends the pool', async () => {
    const { system, db } = await start('pgdrain', { drainTimeoutMs: 5000 })
    const running = [1, 2, 3].map((i) => db.ask('query', 'select pg_sleep(0.3), $1::int as i', [i]))
    await waitForValue(() => db.ask('stats'), (s) => s.inFlight === 3)
    const stopped = system.stop(db)
    const late = await db.ask('query', 'select 1').catch((e: unknown) => e)
    // The runtime refuses messages to a stopping actor (typed, ERR_ACTOR_STOPPED); the pool would refuse with ERR_PG_CLOSED.
    expect(late).toMatchObject({ code: expect.stringMatching(/^ERR_(ACTOR_STOPPED|PG_CLOSED)$/) })
    const answers = await Promise.all(running)
    expect(answers.map((a) => (a.rows[0] as { i: number }).i)).toEqual([1, 2, 3])
    await stopped
    await system.terminate()
  })

  it('calls still running at the drain deadline are cut off with ERR_PG_CLOSED, never left hanging', async () => {
    const { system, db } = await start('pgcut', { drainTimeoutMs: 200, breaker: false })
    const slow = db.ask('query', 'select pg_sleep(10)').catch((e: unknown) => e)
    await waitForValue(() => db.ask('stats'), (s) => s.inFlight === 1)
    const began = performance.now()
    await system.stop(db)
    expect(await slow).toMatchObject({ code: 'ERR_PG_CLOSED' })
    expect(performance.now() - began).toBeLessThan(5000)
    await system.terminate()
  })
})
