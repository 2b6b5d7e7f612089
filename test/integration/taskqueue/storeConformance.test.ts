/**
 * One behavioural test of the task store, run twice through the same RedisTaskStore: against a real
 * Redis (the Lua scripts, Redis TIME) and against its in-memory twin (MemoryTaskRedis on a virtual
 * clock, the simulator's store). Waits for time to pass (visibility timeout, delays) go through
 * `until`: polling real time with a deadline on Redis, advancing the virtual clock on the twin.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MemoryTaskRedis, TaskProducer, type FetchedEntry, type RedisTaskStore } from '../../../actors/index.ts'
import { SystemClock } from '../../../runtime/index.ts'
import { VirtualClock, waitForValue } from '../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../support/dataServices.ts'

interface Env {
  readonly producer: TaskProducer
  /** What a hostile or careless client can write straight into Redis. */
  xadd(key: string, fields: string[]): Promise<void>
  zadd(key: string, score: number, member: string): Promise<void>
  /** Probes until `accept`, letting time pass (≤ 10 s of it). */
  until<T>(probe: () => Promise<T>, accept: (value: T) => boolean): Promise<T>
}

const VT = 200
const ids = (entries: readonly FetchedEntry[]): [number, string][] => entries.map((e) => [e.level, e.entryId])

async function conformance(env: Env): Promise<void> {
  const { producer } = env
  const store: RedisTaskStore = producer.store('q')
  await store.ensureGroups()
  const base = store.keyBase

  // Enqueue, idempotency, fetch by quota with a short level's rest going to the others.
  const a = await producer.enqueue('q', { n: 1 }, { idempotencyKey: 'once' })
  expect(await producer.enqueue('q', { n: 2 }, { idempotencyKey: 'once' })).toEqual({ id: a.id, duplicate: true })
  for (let n = 2; n <= 4; n++) await producer.enqueue('q', { n }, { priority: 'high' })
  await producer.enqueue('q', { n: 5 }, { priority: 'low' })
  let s = await store.stats()
  expect([s.waiting, s.inFlight, s.delayed, s.dlq]).toEqual([5, 0, 0, 0])
  expect(s.priorities.map((p) => p.waiting)).toEqual([3, 1, 1])
  const first = await store.fetch('c1', [1, 0, 1], 0)
  expect(first.entries.map((e) => e.level)).toEqual([0, 2])
  expect(first.short).toEqual([false, false, false])
  // Quota 3 on `normal` (1 task): its rest goes to `high`, highest first.
  const second = await store.fetch('c1', [0, 3, 0], 0)
  expect(second.entries.map((e) => e.level).sort()).toEqual([0, 0, 1])
  expect(second.short).toEqual([false, true, false])
  expect(second.entries.map((e) => (e.fields as string[])[0])).toEqual(['h', 'h', 'h'])
  s = await store.stats()
  expect([s.waiting, s.inFlight]).toEqual([0, 5])

  // maxInFlight counts every consumer's pending entries.
  await producer.enqueue('q', { n: 6 })
  expect((await store.fetch('c2', [0, 5, 0], 5)).entries).toHaveLength(0)
  // Acks ride on a fetch: owner-checked (XACK's count); the task freed a slot under the cap of 5.
  const withAck = await store.fetch('c1', [0, 5, 0], 5, ids(first.entries))
  expect(withAck.acked).toEqual([true, true])
  expect(withAck.entries).toHaveLength(1)
  expect(await store.settle('c1', 'ack', ids(first.entries))).toEqual([false, false])
  expect((await store.stats()).counters.completed).toBe(2)

  // Renewals keep a lease; an unrenewed delivery is reclaimed after the visibility timeout, and its old owner's ack then fails.
  const [kept, dropped] = second.entries as [FetchedEntry, FetchedEntry, FetchedEntry]
  const renewed = await env.until(async () => {
    await store.settle('c1', 'renew', [[kept.level, kept.entryId]])
    return store.reclaim('sweeper', VT, 100)
  }, (r) => r.requeued > 0)
  expect(renewed.requeued).toBeGreaterThanOrEqual(2)
  expect(await store.settle('c1', 'renew', [[kept.level, kept.entryId], [dropped.level, dropped.entryId]])).toEqual([true, false])
  expect(await store.settle('c1', 'ack', [[dropped.level, dropped.entryId]])).toEqual([false])
  const again = await store.fetch('c3', [10, 10, 10], 0)
  const redelivered = again.entries.find((e) => (e.fields as string[])[1]?.split(':')[1] === '1')
  expect(redelivered).toBeDefined()
  expect((redelivered?.fields as string[]).slice(4)).toEqual(expect.arrayContaining(['lc', 'ERR_TASK_VISIBILITY_TIMEOUT']))

  // Fail: retry to the delayed set (not ours: refused), promote when due; dead to the DLQ; replay.
  const [r1, r2] = again.entries as [FetchedEntry, FetchedEntry]
  const record = ['v', '1', 'id', '77', 'p', '{"x":1}', 'a', '1', 'm', '3', 't', '1', 'pr', 'normal']
  expect(await store.fail('c9', r1.level, r1.entryId, 'retry', 0, record)).toBe(false)
  expect(await store.fail('c3', r1.level, r1.entryId, 'retry', 50, record)).toBe(true)
  expect((await store.stats()).delayed).toBe(1)
  const promoted = await env.until(() => store.promote(10), (p) => p.moved > 0)
  expect(promoted).toMatchObject({ moved: 1, malformed: 0, nextDueMs: -1 })
  expect(await store.fail('c3', r2.level, r2.entryId, 'dead', 0, ['id', '78', 'pr', 'low', 'p', '[1]', 'm', '3', 'code', 'ERR_X', 'message', 'boom', 'attempts', '3', 'src', r2.entryId, 'first', ''])).toBe(true)
  const letters = await store.deadLetters(10)
  expect(letters).toHaveLength(1)
  expect(letters[0]).toMatchObject({ taskId: '78', priority: 'low', payload: '[1]', code: 'ERR_X', message: 'boom', attempts: 3 })
  expect(letters[0]?.firstFailureAt).toBe(letters[0]?.lastFailureAt)
  expect(await store.replay(10, [])).toEqual({ replayed: 1, skipped: 0 })
  s = await store.stats()
  expect(s.dlq).toBe(0)
  expect(s.counters).toMatchObject({ retries: 1, dead: 1 })

  // Hostile entries: undecodable delayed records go to the DLQ; entries XDELed while pending are reported.
  await env.zadd(`${base}:delayed`, 0, '{"v":"1","id":5}')
  expect(await store.promote(10)).toMatchObject({ moved: 0, malformed: 1 })
  await env.xadd(`${base}:p:low`, ['hello', 'world'])
  const junk = await store.fetch('c4', [0, 0, 50], 0)
  const bad = junk.entries.find((e) => (e.fields as string[])[0] === 'hello')
  expect(bad).toBeDefined()
  let dead = 0
  await env.until(async () => (dead += (await store.reclaim('sweeper', VT, 100)).dead), (d) => d > 0)
  expect((await store.deadLetters(10)).some((l) => l.code === 'ERR_TASK_MALFORMED' && l.message.includes('does not decode'))).toBe(true)

  // Delayed enqueue: in the delayed set until due.
  await producer.enqueue('q', { later: true }, { delayMs: 100 })
  expect((await store.stats()).delayed).toBe(1)
  await env.until(() => store.promote(10), (p) => p.moved === 1)
  expect((await store.stats()).delayed).toBe(0)
}

describe('the task store on a real Redis', () => {
  let redis: Redis
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'))
  })
  afterAll(async () => {
    const keys = await redis.keys('tq-conf*')
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it('passes the conformance cases', async () => {
    const prefix = uniqueRedisPrefix('tq-conf')
    await conformance({
      producer: new TaskProducer({ redis, prefix }, new SystemClock()),
      xadd: async (key, fields) => void (await redis.xadd(key, '*', ...fields)),
      zadd: async (key, score, member) => void (await redis.zadd(key, score, member)),
      until: (probe, accept) => waitForValue(probe, accept, { timeoutMs: 10_000 }),
    })
  })
})

describe('the same on the in-memory twin (MemoryTaskRedis)', () => {
  it('passes the conformance cases', async () => {
    const clock = new VirtualClock(1_000_000)
    const twin = new MemoryTaskRedis(clock)
    await conformance({
      producer: new TaskProducer({ port: twin, prefix: 'conf:' }, clock),
      xadd: async (key, fields) => void twin.data.xadd(key, fields),
      zadd: async (key, score, member) => twin.data.zadd(key, score, member),
      until: async (probe, accept) => {
        for (let waited = 0; waited <= 10_000; waited += 10) {
          const value = await probe()
          if (accept(value)) return value
          clock.advance(10)
        }
        throw new Error('the twin never got there')
      },
    })
    expect(twin.calls).toBeGreaterThan(20)
  })
})
