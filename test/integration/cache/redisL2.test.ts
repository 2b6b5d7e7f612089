/**
 * RedisCacheL2 against the real Redis, over both connections it accepts (a RedisClient's fast path
 * and an ioredis client of its own): a hit is one GET whose header carries the key's version and
 * its absolute expiry; the remaining TTL it answers never exceeds what Redis still keeps (PTTL);
 * the compare-and-set refuses an older write; a miss answers the version counter; bytes it did not
 * write are answered as such (the decoder refuses them).
 */
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { decodePayload, encodePayload, RedisCacheL2, RedisClient, RedisFastPath } from '../../../actors/index.ts'
import { ActorSystem, SystemClock } from '../../../runtime/index.ts'
import { uniqueNames } from './support.ts'

describe.each(['client', 'ioredis'] as const)('RedisCacheL2 over %s', (via) => {
  it('hit = one GET with version and expiry in the header; remaining TTL ≤ PTTL; CAS, delete, foreign bytes', async () => {
    const system = ActorSystem.create({ name: `l2-${via}`, clock: new SystemClock() })
    const redis = new Redis(inject('redisUrl'))
    const prefix = uniqueNames().redisPrefix
    try {
      if (via === 'client') await system.spawnAndWait(RedisClient, { args: [{ name: 'redis', url: inject('redisUrl') }] })
      const l2 = new RedisCacheL2(via === 'client' ? { client: RedisFastPath.of(system, 'redis'), prefix, clock: system.clock } : { redis, prefix, clock: system.clock })
      const first = await l2.write('k', encodePayload({ n: 1 }, false, 0, []), 5_000, 0, [])
      expect(first).toMatchObject({ written: true, version: 1 })
      const raw = (await redis.getBuffer(`${prefix}v:k`)) as Buffer
      expect(raw.readDoubleBE(1)).toBe(1)
      expect(raw.readDoubleBE(9)).toBe(Number(await redis.call('PEXPIRETIME', `${prefix}v:k`)))
      for (let i = 0; i < 20; i++) {
        const before = await redis.pttl(`${prefix}v:k`)
        const read = await l2.read('k')
        const after = await redis.pttl(`${prefix}v:k`)
        expect(read.version).toBe(1)
        // Redis's clock only moves on: what Redis kept before the read bounds what the read may answer.
        expect(read.record?.ttlMs).toBeLessThanOrEqual(before)
        expect(read.record?.ttlMs).toBeGreaterThan(after - 200)
        expect(decodePayload(read.record?.payload as Uint8Array, 'c').value).toEqual({ n: 1 })
      }
      expect(await l2.write('k', encodePayload({ n: 2 }, false, 0, []), 5_000, -1, [])).toMatchObject({ written: true, version: 2 })
      // A load that read version 1 comes back late: refused.
      expect(await l2.write('k', encodePayload({ n: 0 }, false, 0, []), 5_000, 1, [])).toMatchObject({ written: false, version: 2 })
      expect(decodePayload((await l2.read('k')).record?.payload as Uint8Array, 'c').value).toEqual({ n: 2 })
      expect(await l2.delete('k')).toMatchObject({ keys: 1, version: 3 })
      expect(await l2.read('k')).toEqual({ record: null, version: 3 })
      expect(await l2.read('never')).toEqual({ record: null, version: 0 })
      await redis.set(`${prefix}v:foreign`, 'not ours', 'PX', 5_000)
      const foreign = await l2.read('foreign')
      expect(foreign.version).toBe(0)
      expect(() => decodePayload(foreign.record?.payload as Uint8Array, 'c')).toThrow(expect.objectContaining({ code: 'ERR_CACHE_DECODE' }))
      const short = await l2.write('short', encodePayload('v', false, 0, []), 40, 0, [])
      expect(short.written).toBe(true)
      const shortRead = await l2.read('short')
      expect(shortRead.record === null || shortRead.record.ttlMs <= 40).toBe(true)
    } finally {
      const left = await redis.keys(`${prefix}*`)
      if (left.length > 0) await redis.del(...left)
      redis.disconnect()
      await system.terminate()
    }
  })
})
