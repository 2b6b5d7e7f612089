/**
 * Fencing tokens on client writes, against real Redis and PostgreSQL (the run's shared servers, each
 * test under its own key prefix / schema): an older holder's write is refused with ERR_FENCED once a
 * newer one wrote, nothing of it lands, and concurrent holders never interleave.
 */
import { describe, expect, inject, it } from 'vitest'
import { PgPool, RedisClient, type Fence, type PgPoolProtocol, type RedisClientProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitForValue } from '../../../../testing/index.ts'
import { uniqueRedisPrefix, uniqueSchema } from '../../../support/dataServices.ts'

const fence = (name: string, term: number, version: number): Fence => ({ name, token: { term, version } })
const older = (a: { term: number; version: number }, b: { term: number; version: number }): boolean => a.term < b.term || (a.term === b.term && a.version < b.version)

describe('fenced writes on Redis', () => {
  it('refuses an older holder after a newer one wrote; equal tokens pass; nothing of a refused write lands', async () => {
    const system = ActorSystem.create({ name: 'fence-redis', clock: new SystemClock() })
    const prefix = uniqueRedisPrefix('fence')
    const redis: ActorRef<RedisClientProtocol> = await system.spawnAndWait(RedisClient, { name: 'r', args: [{ name: 'r', url: inject('redisUrl'), fencePrefix: `${prefix}fence:` }] })
    try {
      await waitForValue(() => redis.ask('health'), (h) => h.status === 'healthy')
      const key = `${prefix}{leader}:value`
      expect(await redis.ask('fenced', fence('leader', 1, 1), [['SET', key, 'a'], ['INCR', `${prefix}{leader}:n`]])).toEqual(['OK', 1])
      expect(await redis.ask('fenced', fence('leader', 1, 1), [['SET', key, 'a2']])).toEqual(['OK'])
      expect(await redis.ask('fenced', fence('leader', 2, 0), [['SET', key, 'b']])).toEqual(['OK'])
      await expect(redis.ask('fenced', fence('leader', 1, 9), [['SET', key, 'stale'], ['INCR', `${prefix}{leader}:n`]])).rejects.toMatchObject({
        code: 'ERR_FENCED',
        data: { name: 'leader', token: { term: 1, version: 9 }, highest: { term: 2, version: 0 } },
      })
      expect(await redis.ask('command', 'GET', key)).toBe('b')
      expect(await redis.ask('command', 'GET', `${prefix}{leader}:n`)).toBe('1')
      expect(await redis.ask('fenced', fence('leader', 2, 1), [['GET', key]])).toEqual(['b'])
      // Another name has its own fence.
      expect(await redis.ask('fenced', fence('other', 0, 0), [['SET', `${prefix}{other}`, 'x']])).toEqual(['OK'])
      await expect(redis.ask('fenced', fence('bad name!', 1, 1), [['SET', key, 'x']])).rejects.toMatchObject({ code: 'ERR_REDIS_BAD_CALL' })
      await expect(redis.ask('fenced', { name: 'leader', token: { term: -1, version: 0 } }, [['SET', key, 'x']])).rejects.toMatchObject({ code: 'ERR_REDIS_BAD_CALL' })
      await expect(redis.ask('fenced', fence('leader', 3, 0), [])).rejects.toMatchObject({ code: 'ERR_REDIS_BAD_CALL' })
    } finally {
      await system.terminate()
    }
  })

  it('concurrent holders never interleave: the accepted writes are in token order', async () => {
    const system = ActorSystem.create({ name: 'fence-redis-race', clock: new SystemClock() })
    const prefix = uniqueRedisPrefix('fencerace')
    const clients: ActorRef<RedisClientProtocol>[] = []
    for (let i = 0; i < 3; i++) clients.push(await system.spawnAndWait(RedisClient, { name: `r${i}`, args: [{ name: `r${i}`, url: inject('redisUrl'), fencePrefix: `${prefix}f:` }] }))
    try {
      const log = `${prefix}{lease}:log`
      // 3 clients × 40 writes; tokens rise in steps, each write tagged with its token.
      const attempts = clients.flatMap((client, c) =>
        Array.from({ length: 40 }, (_, i) => {
          const token = { term: Math.floor((i + c * 7) / 10), version: (i * 3 + c) % 5 }
          return client.ask('fenced', { name: 'lease', token }, [['RPUSH', log, `${token.term}.${token.version}`]]).then(
            () => ({ ok: true as const, token }),
            (error: { code?: string }) => ({ ok: false as const, token, code: error.code }),
          )
        }),
      )
      const results = await Promise.all(attempts)
      expect(results.filter((r) => !r.ok).every((r) => r.code === 'ERR_FENCED')).toBe(true)
      const accepted = ((await clients[0]!.ask('command', 'LRANGE', log, 0, -1)) as string[]).map((s) => {
        const [term, version] = s.split('.').map(Number) as [number, number]
        return { term, version }
      })
      expect(accepted.length).toBe(results.filter((r) => r.ok).length)
      for (let i = 1; i < accepted.length; i++) expect(older(accepted[i]!, accepted[i - 1]!)).toBe(false)
      expect(results.some((r) => !r.ok)).toBe(true)
    } finally {
      await system.terminate()
    }
  })
})

describe('fenced transactions on PostgreSQL', () => {
  async function start(name: string) {
    const system = ActorSystem.create({ name, clock: new SystemClock() })
    const schema = uniqueSchema(name)
    const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, {
      name: 'db',
      args: [{ name: 'db', connectionString: inject('databaseUrl'), pool: { max: 6, options: `-c search_path=${schema}` } }],
    })
    await db.ask('query', `create schema ${schema}`)
    await db.ask('query', 'create table log (seq bigserial primary key, holder text not null, term bigint not null, version bigint not null)')
    return {
      system,
      db,
      stop: async () => {
        await db.ask('query', `drop schema ${schema} cascade`).catch(() => {})
        await system.terminate()
      },
    }
  }

  it('refuses an older holder after a newer one committed; its statements roll back', async () => {
    const { db, stop } = await start('fencepg')
    try {
      const write = (holder: string, term: number, version: number) =>
        db.ask('transaction', async (tx) => (await tx.query('insert into log (holder, term, version) values ($1, $2, $3) returning seq', [holder, term, version])).rowCount, { fence: fence('singleton', term, version) })
      expect(await write('a', 1, 0)).toBe(1)
      expect(await write('a', 1, 0)).toBe(1)
      expect(await write('b', 1, 1)).toBe(1)
      await expect(write('a', 1, 0)).rejects.toMatchObject({ code: 'ERR_FENCED', data: { name: 'singleton', token: { term: 1, version: 0 }, highest: { term: 1, version: 1 } } })
      expect(await write('c', 2, 0)).toBe(1)
      await expect(write('b', 1, 5)).rejects.toMatchObject({ code: 'ERR_FENCED', data: { highest: { term: 2, version: 0 } } })
      const rows = (await db.ask('query', 'select holder from log order by seq')).rows.map((r) => (r as { holder: string }).holder)
      expect(rows).toEqual(['a', 'a', 'b', 'c'])
      await expect(db.ask('transaction', async () => 1, { fence: { name: 'x', token: { term: 1.5, version: 0 } } })).rejects.toMatchObject({ code: 'ERR_PG_BAD_CALL' })
      // The pool is fine after refusals (no connection left inside an aborted transaction).
      expect((await db.ask('query', 'select 1 as one')).rows).toEqual([{ one: 1 }])
    } finally {
      await stop()
    }
  })

  it('concurrent holders never interleave: each transaction runs whole, in token order', async () => {
    const { db, stop } = await start('fencepgrace')
    try {
      // Each holder writes two rows with a pause between them; an interleaving would show as a-b-a-b.
      const holders = Array.from({ length: 8 }, (_, i) => ({ holder: `h${i}`, term: 1 + (i % 3), version: (i * 5) % 4 }))
      const results = await Promise.all(
        holders.map(({ holder, term, version }) =>
          db
            .ask(
              'transaction',
              async (tx) => {
                await tx.query('insert into log (holder, term, version) values ($1, $2, $3)', [holder, term, version])
                await tx.query('select pg_sleep(0.02)')
                await tx.query('insert into log (holder, term, version) values ($1, $2, $3)', [holder, term, version])
                return true
              },
              { fence: fence('shard-7', term, version) },
            )
            .then(
              () => ({ holder, ok: true, code: null as string | null }),
              (error: { code?: string }) => ({ holder, ok: false, code: error.code ?? 'untyped' }),
            ),
        ),
      )
      expect(results.filter((r) => !r.ok).map((r) => r.code)).toEqual(results.filter((r) => !r.ok).map(() => 'ERR_FENCED'))
      const rows = (await db.ask('query', 'select holder, term, version from log order by seq')).rows as { holder: string; term: string; version: string }[]
      expect(rows.length).toBe(2 * results.filter((r) => r.ok).length)
      for (let i = 0; i < rows.length; i += 2) expect(rows[i + 1]!.holder).toBe(rows[i]!.holder)
      const tokens = rows.map((r) => ({ term: Number(r.term), version: Number(r.version) }))
      for (let i = 1; i < tokens.length; i++) expect(older(tokens[i]!, tokens[i - 1]!)).toBe(false)
    } finally {
      await stop()
    }
  })
})
