/** Redis killed (SIGKILL) and restarted under load, with a RedisClient under a supervisor in front of it. Starts its own server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisClient, type RedisClientProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { LocalRedisServer, uniqueRedisPrefix } from '../../../support/dataServices.ts'
import { BREAKER, HEALTH, outageScenario } from './outage.ts'
import { record, underSupervisor } from './support.ts'

let server: LocalRedisServer
beforeAll(async () => {
  server = await LocalRedisServer.start()
})
afterAll(async () => {
  await server.stop()
})

describe('RedisClient through a Redis outage', () => {
  it('answers typed errors, opens its breaker, goes unhealthy and back, reconnects with backoff, never restarts', async () => {
    const system = ActorSystem.create({ name: 'redis-outage', clock: new SystemClock() })
    const seen = record(system)
    const prefix = uniqueRedisPrefix('outage')
    const cache = (await underSupervisor<RedisClient>(system, RedisClient, {
      name: 'cache',
      url: server.url,
      commandTimeoutMs: 500,
      reconnect: { baseMs: 50, maxMs: 500, jitter: 0.2 },
      health: HEALTH,
      breaker: BREAKER,
    })) as ActorRef<RedisClientProtocol>
    try {
      await outageScenario({
        system,
        seen,
        client: cache,
        name: 'cache',
        breakerName: 'redis:cache',
        call: (i) => cache.ask('command', 'INCR', `${prefix}${i % 4}`),
        crash: () => server.crash(),
        resume: () => server.resume(),
      })
      const stats = await cache.ask('stats')
      expect(stats.connected).toBe(true)
      expect(stats.reconnects).toBeGreaterThan(0)
    } finally {
      await system.terminate()
    }
  }, 90_000)
})
