/**
 * Clients started against a service that is not there: the actor starts anyway (a down service is
 * not a start failure), reports unhealthy with the reason, and answers calls with typed errors.
 * A PostgreSQL that accepts TCP but never speaks proves the per-check timeout.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ClientHealthTopic, PgPool, RedisClient, type HealthTransition, type PgPoolProtocol, type RedisClientProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitFor } from '../../../../testing/index.ts'
import { freePort } from '../../../support/services.ts'

let silent: Server
let silentPort = 0
const sockets = new Set<Socket>()
beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket) // accepted, never answered
    socket.on('error', () => {})
  })
  silentPort = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)))
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await new Promise((resolve) => silent.close(resolve))
})

function transitions(system: ActorSystem): HealthTransition[] {
  const seen: HealthTransition[] = []
  system.subscribe(ClientHealthTopic, (t) => seen.push(t))
  return seen
}

describe('a client whose service is down from the start', () => {
  it('PgPool: a silent server makes each check time out; unhealthy after n, calls fail with ERR_PG_TIMEOUT', async () => {
    const system = ActorSystem.create({ name: 'pg-silent', clock: new SystemClock() })
    const seen = transitions(system)
    try {
      const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, {
        args: [{ name: 'db', connectionString: `postgres://postgres@127.0.0.1:${silentPort}/x`, checkoutTimeoutMs: 300, health: { intervalMs: 50, timeoutMs: 100, unhealthyAfter: 2 }, breaker: false }],
      })
      await waitFor(() => seen.length === 1, { timeoutMs: 5000, message: 'no health transition' })
      expect(seen[0]).toMatchObject({ client: 'db', from: 'starting', to: 'unhealthy', reason: 'ERR_PG_TIMEOUT', seq: 1 })
      const health = await db.ask('health')
      expect(health.consecutiveFailures).toBeGreaterThanOrEqual(2)
      await expect(db.ask('query', 'select 1')).rejects.toMatchObject({ code: 'ERR_PG_TIMEOUT', data: { phase: 'checkout' } })
    } finally {
      await system.terminate()
    }
  })

  it('PgPool: refused connections answer ERR_PG_CONNECTION at once and the breaker then refuses fast', async () => {
    const system = ActorSystem.create({ name: 'pg-refused', clock: new SystemClock() })
    const seen = transitions(system)
    try {
      const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, {
        args: [{ name: 'db', connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/x`, health: { intervalMs: 50, unhealthyAfter: 2 }, breaker: { minimumCalls: 3, windowSize: 3, waitInOpenMs: 60_000 } }],
      })
      const errors: unknown[] = []
      for (let i = 0; i < 6; i++) errors.push(await db.ask('query', 'select 1').catch((e: unknown) => e))
      expect(errors.slice(0, 3)).toEqual([0, 1, 2].map(() => expect.objectContaining({ code: 'ERR_PG_CONNECTION', data: expect.objectContaining({ reason: 'ECONNREFUSED' }) })))
      const later = await db.ask('query', 'select 1').catch((e: unknown) => e)
      expect(later).toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED', data: { breaker: 'pg:db', state: 'open' } })
      await waitFor(() => seen.some((t) => t.to === 'unhealthy'), { timeoutMs: 5000 })
      expect(seen.map((t) => [t.to, t.reason])).toEqual([['unhealthy', 'ERR_PG_CONNECTION']])
    } finally {
      await system.terminate()
    }
  })

  it('RedisClient: starts, reports unhealthy, commands fail fast with ERR_REDIS_CONNECTION while it keeps reconnecting', async () => {
    const system = ActorSystem.create({ name: 'redis-refused', clock: new SystemClock() })
    const seen = transitions(system)
    try {
      const cache: ActorRef<RedisClientProtocol> = await system.spawnAndWait(RedisClient, {
        args: [{ name: 'cache', url: `redis://127.0.0.1:${await freePort()}`, health: { intervalMs: 50, timeoutMs: 200, unhealthyAfter: 2 }, reconnect: { baseMs: 20, maxMs: 100 }, breaker: false }],
      })
      const began = performance.now()
      await expect(cache.ask('command', 'GET', 'k')).rejects.toMatchObject({ code: 'ERR_REDIS_CONNECTION' })
      expect(performance.now() - began).toBeLessThan(1000)
      await waitFor(() => seen.length === 1, { timeoutMs: 5000 })
      expect(seen[0]).toMatchObject({ client: 'cache', from: 'starting', to: 'unhealthy', reason: 'ERR_REDIS_CONNECTION' })
      const stats = await cache.ask('stats')
      expect(stats.connected).toBe(false)
    } finally {
      await system.terminate()
    }
  })

  it('TLS options reach the drivers: asking for TLS from servers that speak none fails typed, and the client stays up', async () => {
    const system = ActorSystem.create({ name: 'tls-through', clock: new SystemClock() })
    try {
      const db: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, { args: [{ name: 'db', connectionString: inject('databaseUrl'), tls: { rejectUnauthorized: true }, breaker: false }] })
      await expect(db.ask('query', 'select 1')).rejects.toMatchObject({ code: 'ERR_PG_CONNECTION', message: expect.stringMatching(/SSL/) })
      const plain: ActorRef<PgPoolProtocol> = await system.spawnAndWait(PgPool, { args: [{ name: 'plain', connectionString: inject('databaseUrl'), breaker: false }] })
      expect((await plain.ask('query', 'select 1 as one')).rows).toEqual([{ one: 1 }])
      const cache: ActorRef<RedisClientProtocol> = await system.spawnAndWait(RedisClient, {
        args: [{ name: 'cache', url: inject('redisUrl'), tls: { rejectUnauthorized: true }, health: { intervalMs: 50, timeoutMs: 200, unhealthyAfter: 1 }, breaker: false }],
      })
      await expect(cache.ask('command', 'PING')).rejects.toMatchObject({ code: 'ERR_REDIS_CONNECTION' })
      expect((await cache.ask('health')).status).not.toBe('healthy')
    } finally {
      await system.terminate()
    }
  })
})
