/**
 * The Redis/PostgreSQL service ladder itself: the shared servers answer, and a server a test owns
 * can be crashed and resumed on the same port.
 */
import { Redis } from 'ioredis'
import pg from 'pg'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { LocalPostgresServer, LocalRedisServer, uniqueRedisPrefix, uniqueSchema } from '../../../support/dataServices.ts'

describe('data service ladder', () => {
  const owned: { stop(): Promise<void> }[] = []
  afterAll(async () => {
    await Promise.all(owned.map((s) => s.stop()))
  })

  it('provides a Redis that answers, isolated by key prefix', async () => {
    const client = new Redis(inject('redisUrl'))
    const key = `${uniqueRedisPrefix('ladder')}k`
    await client.set(key, 'v', 'PX', 10_000)
    expect(await client.get(key)).toBe('v')
    client.disconnect()
  })

  it('provides a PostgreSQL that answers, isolated by schema', async () => {
    const client = new pg.Client({ connectionString: inject('databaseUrl') })
    await client.connect()
    const schema = uniqueSchema('ladder')
    await client.query(`create schema ${schema}`)
    await client.query(`create table ${schema}.t (v int)`)
    await client.query(`insert into ${schema}.t values (42)`)
    const { rows } = await client.query<{ v: number }>(`select v from ${schema}.t`)
    expect(rows[0]?.v).toBe(42)
    await client.query(`drop schema ${schema} cascade`)
    await client.end()
  })

  it('crashes and resumes an owned redis-server on the same port', async () => {
    const server = await LocalRedisServer.start()
    owned.push(server)
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 })
    client.on('error', () => {})
    expect(await client.ping()).toBe('PONG')
    await server.crash()
    expect(server.running).toBe(false)
    await expect(client.ping()).rejects.toThrow()
    await server.resume()
    expect(await client.ping()).toBe('PONG')
    client.disconnect()
  })

  it('starts an owned PostgreSQL and restarts it', async () => {
    const server = await LocalPostgresServer.start()
    owned.push(server)
    const query = async (): Promise<number> => {
      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      const { rows } = await client.query<{ n: number }>('select 1 as n')
      await client.end()
      return rows[0]?.n ?? 0
    }
    expect(await query()).toBe(1)
    await server.crash()
    await expect(query()).rejects.toThrow()
    await server.resume()
    expect(await query()).toBe(1)
  }, 60_000)
})
