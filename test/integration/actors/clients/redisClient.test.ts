/**
 * RedisClient against a real Redis (the run's shared server from the ladder; each test under its own
 * key prefix): commands, pipelines, scripts, typed errors, metrics, the graceful close.
 */
import { Registry } from 'prom-client'
import { describe, expect, inject, it } from 'vitest'
import { RedisClient, type RedisClientProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitForValue } from '../../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'
import { record } from './support.ts'

async function start(name: string, extra: Record<string, unknown> = {}) {
  const system = ActorSystem.create({ name, clock: new SystemClock() })
  const seen = record(system)
  const registry = new Registry()
  const cache: ActorRef<RedisClientProtocol> = await system.spawnAndWait(RedisClient, { name: 'cache', args: [{ name: 'cache', url: inject('redisUrl'), health: { intervalMs: 100 }, registry, ...extra }] })
  await waitForValue(() => cache.ask('health'), (h) => h.status === 'healthy')
  return { system, seen, registry, cache, prefix: uniqueRedisPrefix(name) }
}

describe('RedisClient', () => {
  it('runs commands, pipelines and scripts; error replies are typed and do not open the breaker', async () => {
    const { system, seen, registry, cache, prefix } = await start('rcmd')
    try {
      expect(await cache.ask('command', 'SET', `${prefix}a`, '1', 'PX', 60_000)).toBe('OK')
      expect(await cache.ask('command', 'INCRBY', `${prefix}a`, 41)).toBe(42)
      const replies = await cache.ask('pipeline', [
        ['INCR', `${prefix}n`],
        ['HSET', `${prefix}a`, 'f', 'v'], // WRONGTYPE: a string key
        ['GET', `${prefix}n`],
      ])
      expect(replies).toEqual([
        { ok: true, value: 1 },
        { ok: false, error: expect.objectContaining({ code: 'ERR_REDIS_COMMAND', data: expect.objectContaining({ prefix: 'WRONGTYPE', command: 'HSET' }) }) },
        { ok: true, value: '1' },
      ])
      const script = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
      await cache.ask('command', 'SCRIPT', 'FLUSH')
      expect(await cache.ask('eval', script, [`${prefix}s`], [5])).toBe(5) // NOSCRIPT, then EVAL
      expect(await cache.ask('eval', script, [`${prefix}s`], [5])).toBe(10) // EVALSHA
      for (let i = 0; i < 30; i++) await expect(cache.ask('command', 'LPUSH', `${prefix}a`, 'x')).rejects.toMatchObject({ code: 'ERR_REDIS_COMMAND', data: { prefix: 'WRONGTYPE' } })
      await expect(cache.ask('command', 'NOSUCHCOMMAND')).rejects.toMatchObject({ code: 'ERR_REDIS_COMMAND', data: { prefix: 'ERR' } })
      await expect(cache.ask('command', 'GET; FLUSHALL')).rejects.toMatchObject({ code: 'ERR_REDIS_BAD_CALL' })
      await expect(cache.ask('command', 'SET', `${prefix}x`, { not: 'an arg' } as unknown as string)).rejects.toMatchObject({ code: 'ERR_REDIS_BAD_CALL' })
      expect(seen.breaker).toEqual([])
      expect(seen.health.filter((t) => t.client === 'cache').map((t) => t.to)).toEqual(['healthy'])
      const text = await registry.metrics()
      expect(text).toContain('troupe_client_connections{kind="redis",name="cache",state="total"} 1')
      expect(text).toContain('troupe_client_healthy{kind="redis",name="cache"} 1')
      expect(text).toContain('troupe_breaker_state{name="redis:cache",state="closed"} 1')
      await cache.ask('command', 'DEL', `${prefix}a`, `${prefix}n`, `${prefix}s`)
    } finally {
      await system.terminate()
    }
  })

  it('a command that outlives commandTimeoutMs fails with ERR_REDIS_TIMEOUT', async () => {
    const { system, cache, prefix } = await start('rtimeout', { commandTimeoutMs: 100, breaker: false })
    try {
      // BLPOP on an empty list blocks on the server for 1 s: longer than the client waits.
      await expect(cache.ask('command', 'BLPOP', `${prefix}empty`, 1)).rejects.toMatchObject({ code: 'ERR_REDIS_TIMEOUT', data: { timeoutMs: 100 } })
    } finally {
      await system.terminate()
    }
  })

  it('a graceful stop lets commands out finish, then quits', async () => {
    const { system, cache, prefix } = await start('rdrain', { commandTimeoutMs: 5000 })
    // Blocking commands that the server answers after 300 ms (timeout in seconds, fractional since Redis 6).
    const out = [1, 2, 3].map((i) => cache.ask('command', 'BLPOP', `${prefix}q${i}`, 0.3))
    await waitForValue(() => cache.ask('stats'), (s) => s.inFlight === 3)
    await system.stop(cache)
    expect(await Promise.all(out)).toEqual([null, null, null])
    await system.terminate()
  })

  it('commands still out at the drain deadline are cut off with ERR_REDIS_CLOSED', async () => {
    const { system, cache, prefix } = await start('rcut', { commandTimeoutMs: 20_000, drainTimeoutMs: 150, breaker: false })
    const stuck = cache.ask('command', 'BLPOP', `${prefix}never`, 10).catch((e: unknown) => e)
    await waitForValue(() => cache.ask('stats'), (s) => s.inFlight === 1)
    const began = performance.now()
    await system.stop(cache)
    expect(await stuck).toMatchObject({ code: 'ERR_REDIS_CLOSED' })
    expect(performance.now() - began).toBeLessThan(5000)
    await system.terminate()
  })
})
