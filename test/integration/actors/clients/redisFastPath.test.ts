/**
 * RedisFastPath: a RedisClient's calls from the same system without a message per call. Against the
 * run's real Redis: binary replies, scripts, the binding following the actor (unbound after a stop,
 * rebound to the new incarnation after a restart); on the MemoryRedis port: calls go through the
 * client's breaker (it opens on a down service and then refuses without touching the connection).
 */
import { describe, expect, inject, it } from 'vitest'
import { MemoryRedis, RedisClient, RedisFastPath, type RedisClientProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../../runtime/index.ts'
import { waitFor } from '../../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'

describe('RedisFastPath', () => {
  it('runs commands and scripts without a message, binary replies stay binary, and follows the actor', async () => {
    const system = ActorSystem.create({ name: 'rfast', clock: new SystemClock() })
    const prefix = uniqueRedisPrefix('rfast')
    const fast = RedisFastPath.of(system, 'main')
    try {
      expect(fast.bound).toBe(false)
      await expect(fast.command('PING')).rejects.toMatchObject({ code: 'ERR_REDIS_CLOSED' })
      const spawn = (): Promise<ActorRef<RedisClientProtocol>> => system.spawnAndWait(RedisClient, { args: [{ name: 'main', url: inject('redisUrl'), health: { intervalMs: 100 } }] })
      const client = await spawn()
      expect(RedisFastPath.of(system, 'main')).toBe(fast)
      expect(fast.bound).toBe(true)
      const bytes = Buffer.from([0, 255, 1, 128, 10])
      expect(await fast.command('SET', `${prefix}b`, bytes, 'PX', 60_000)).toBe('OK')
      expect(await fast.commandBuffer('GET', `${prefix}b`)).toEqual(bytes)
      expect(await fast.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", [`${prefix}n`], [7])).toBe(7)
      await expect(fast.command('LPUSH', `${prefix}b`, 'x')).rejects.toMatchObject({ code: 'ERR_REDIS_COMMAND', data: { prefix: 'WRONGTYPE' } })
      await waitFor(() => fast.health()?.status === 'healthy')
      await fast.command('DEL', `${prefix}b`, `${prefix}n`)
      await system.stop(client)
      expect(fast.bound).toBe(false)
      await expect(fast.command('PING')).rejects.toMatchObject({ code: 'ERR_REDIS_CLOSED' })
      await spawn()
      expect(await fast.command('PING')).toBe('PONG')
    } finally {
      await system.terminate()
    }
    expect(fast.bound).toBe(false)
  })

  it("goes through the client's breaker: a down service opens it, then calls are refused without reaching the connection", async () => {
    const system = ActorSystem.create({ name: 'rfastbrk', clock: new SystemClock() })
    const twin = new MemoryRedis(system.clock)
    try {
      await system.spawnAndWait(RedisClient, { args: [{ name: 'twin', connection: twin, breaker: { windowSize: 4, minimumCalls: 4, failureRateThreshold: 50, waitInOpenMs: 60_000 } }] })
      const fast = RedisFastPath.of(system, 'twin')
      expect(await fast.command('SET', 'k', 'v')).toBe('OK')
      twin.down()
      const codes: string[] = []
      for (let i = 0; i < 12; i++) codes.push(await fast.command('GET', 'k').then(() => 'ok', (e: { code: string }) => e.code))
      expect(codes[0]).toBe('ERR_REDIS_CONNECTION')
      expect(codes.at(-1)).toBe('ERR_CALL_NOT_PERMITTED')
      expect(codes.every((c) => c === 'ERR_REDIS_CONNECTION' || c === 'ERR_CALL_NOT_PERMITTED')).toBe(true)
      twin.up()
      const calls = twin.calls
      await expect(fast.command('GET', 'k')).rejects.toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED' })
      expect(twin.calls).toBe(calls)
    } finally {
      await system.terminate()
    }
  })
})
