/**
 * Bytes from outside are hostile: L2 values this cache did not write and bus messages from anyone
 * get a typed refusal (or null), never a crash; a corrupt L2 value reads as a miss and is replaced.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { CacheErrorCodes, decodeInvalidation, decodePayload, encodeInvalidation, encodePayload } from '../../../../actors/index.ts'
import { World } from './helpers.ts'

let world: World | null = null
afterEach(async () => {
  await world?.terminate()
  world = null
})

describe('hostile bytes', () => {
  it('decodePayload refuses anything but its own format with ERR_CACHE_DECODE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodePayload(bytes, 'c')
        } catch (error) {
          expect(error).toMatchObject({ code: CacheErrorCodes.Decode })
        }
      }),
      { numRuns: 500 },
    )
    expect(decodePayload(encodePayload({ a: [1, 'x'] }, false, 10, ['t']), 'c')).toEqual({ value: { a: [1, 'x'] }, negative: false, staleMs: 10, tags: ['t'] })
  })

  it('decodeInvalidation answers null for anything malformed, and round-trips its own messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeInvalidation(bytes)
        if (decoded !== null) expect(typeof decoded.cache).toBe('string')
      }),
      { numRuns: 500 },
    )
    const m = { cache: 'users', origin: 'n1', seq: 3, generation: 9, kind: 'tag', target: 'team', version: 0, exists: false } as const
    expect(decodeInvalidation(encodeInvalidation(m))).toEqual(m)
  })

  it('a corrupt L2 value is a counted miss, and the next load replaces it', async () => {
    world = new World()
    const { cache } = await world.node('n1')
    await world.l2.write('k', new Uint8Array([7, 1, 2, 3]), 60_000, -1, [])
    expect(await cache.ask('get', 'k')).toBeUndefined()
    expect((await cache.ask('stats')).decodeErrors).toBe(1)
    expect(await cache.ask('getOrLoad', 'k', () => 'fresh')).toBe('fresh')
    const other = await world.node('n2')
    expect(await other.cache.ask('get', 'k')).toBe('fresh')
  })
})
