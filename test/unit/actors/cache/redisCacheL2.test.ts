/**
 * RedisCacheL2's own bookkeeping, over a scripted connection and a virtual clock: the command
 * timeout (one watchdog for every call in flight) and the hit's header decode, whatever order
 * the replies land in.
 */
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { CacheErrorCodes, decodePayload, encodePayload, RedisCacheL2 } from '../../../../actors/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'

/** A reply the test decides when to give. */
interface Held {
  readonly key: string
  resolve(value: unknown): void
  reject(error: Error): void
}

/** Just what RedisCacheL2 calls on an ioredis client; every GET waits in `held` until the test answers it. */
function scriptedRedis(clock: VirtualClock) {
  const held: Held[] = []
  const hold = (key: string): Promise<unknown> => new Promise((resolve, reject) => held.push({ key, resolve, reject }))
  const redis = {
    defineCommand(name: string) {
      ;(redis as Record<string, unknown>)[name] = () => Promise.resolve([1, 1, 1])
    },
    getBuffer: (key: string) => hold(key),
    get: (key: string) => hold(key),
    // Redis's clock reads as ours: a value's expiry header is then on our clock.
    time: () => Promise.resolve([String(Math.floor(clock.now() / 1000)), String(Math.round((clock.now() % 1000) * 1000))]),
  }
  return { redis: redis as unknown as Redis, held }
}

/** What the write script leaves in Redis: the payload with its version and absolute expiry filled in. */
function stored(value: unknown, version: number, expiresAt: number): Buffer {
  const bytes = Buffer.from(encodePayload(value, false, 0, []))
  bytes.writeDoubleBE(version, 1)
  bytes.writeDoubleBE(expiresAt, 9)
  return bytes
}

const settleMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

describe('RedisCacheL2', () => {
  it('answers hits in any reply order, and fails a call unanswered past the command timeout with ERR_CACHE_L2_UNAVAILABLE', async () => {
    const clock = new VirtualClock(1_000_000)
    const { redis, held } = scriptedRedis(clock)
    const l2 = new RedisCacheL2({ redis, prefix: 'p:', clock, commandTimeoutMs: 400 })
    const reads = ['a', 'b', 'c'].map((k) => l2.read(k))
    const outcomes: unknown[] = [null, null, null]
    reads.forEach((r, i) => r.then((v) => (outcomes[i] = v), (e: unknown) => (outcomes[i] = e)))
    await settleMicrotasks() // the first read waits for a TIME sample first
    expect(held.map((h) => h.key)).toEqual(['p:v:a', 'p:v:b', 'p:v:c'])
    clock.advance(100)
    // The second answered before the first: both are hits with the TTL left.
    held[1]!.resolve(stored({ k: 'b' }, 7, clock.now() + 60_000))
    held[0]!.resolve(stored({ k: 'a' }, 3, clock.now() + 30_000))
    await settleMicrotasks()
    const b = outcomes[1] as { version: number; record: { ttlMs: number; version: number; payload: Uint8Array } }
    expect(b.version).toBe(7)
    expect(b.record.ttlMs).toBeGreaterThan(59_000)
    expect(b.record.ttlMs).toBeLessThanOrEqual(60_000)
    expect(decodePayload(b.record.payload, 'c').value).toEqual({ k: 'b' })
    expect((outcomes[0] as { version: number }).version).toBe(3)
    expect(outcomes[2]).toBeNull()
    // The third never answers: failed at its deadline (the watchdog ticks every timeout / 4), not before.
    clock.advance(250)
    await settleMicrotasks()
    expect(outcomes[2]).toBeNull()
    clock.advance(100)
    await settleMicrotasks()
    expect(outcomes[2]).toMatchObject({ code: CacheErrorCodes.L2Unavailable, data: { op: 'read' } })
    // A reply after the deadline changes nothing, and the watchdog stops with nothing in flight.
    held[2]!.resolve(stored({ k: 'c' }, 1, clock.now() + 60_000))
    await settleMicrotasks()
    expect(outcomes[2]).toMatchObject({ code: CacheErrorCodes.L2Unavailable })
    expect(clock.pendingTimers).toBe(0)
  })

  it('fails each of many calls in flight at its own deadline, oldest first', async () => {
    const clock = new VirtualClock(0)
    const { redis, held } = scriptedRedis(clock)
    const l2 = new RedisCacheL2({ redis, prefix: 'p:', clock, commandTimeoutMs: 100 })
    await Promise.race([l2.read('warm'), settleMicrotasks()])
    held[0]!.resolve(null)
    await settleMicrotasks() // a miss reads the version counter next
    held[1]!.resolve('4')
    await settleMicrotasks()
    const failedAt: number[] = []
    for (let i = 0; i < 6; i++) {
      l2.read(`k${i}`).catch(() => failedAt.push(i))
      if (i % 2 === 1) held.at(-1)!.resolve(stored(i, 1, clock.now() + 1000)) // every other one answers at once
      await settleMicrotasks()
      clock.advance(30)
    }
    for (let t = 0; t < 10; t++) {
      clock.advance(25)
      await settleMicrotasks()
    }
    expect(failedAt).toEqual([0, 2, 4])
    expect(held).toHaveLength(8)
    expect(clock.pendingTimers).toBe(0)
  })
  it('keeps answering behind a call that hangs, which still fails at its deadline', async () => {
    const clock = new VirtualClock(0)
    const { redis, held } = scriptedRedis(clock)
    const l2 = new RedisCacheL2({ redis, prefix: 'p:', clock, commandTimeoutMs: 100 })
    let hung: unknown = null
    l2.read('hung').catch((error: unknown) => (hung = error))
    await settleMicrotasks()
    let hits = 0
    // Many calls settle while the oldest is still out (the queue compacts behind it).
    for (let i = 0; i < 500; i++) {
      l2.read(`k${i}`).then((r) => (hits += r.record !== null ? 1 : 0))
      held.at(-1)!.resolve(stored(i, 1, clock.now() + 1000))
      if (i % 50 === 0) await settleMicrotasks()
    }
    await settleMicrotasks()
    expect(hits).toBe(500)
    expect(hung).toBeNull()
    clock.advance(150)
    await settleMicrotasks()
    expect(hung).toMatchObject({ code: CacheErrorCodes.L2Unavailable })
    expect(clock.pendingTimers).toBe(0)
  })
})
