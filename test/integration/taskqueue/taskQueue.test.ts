/**
 * The task queue against a real Redis (service ladder), each test under its own key prefix. Waits
 * are on conditions with deadlines, never fixed sleeps; time assertions use Redis TIME (the clock
 * the queue runs on) and assert bounds, not exact values.
 */
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import {
  RedisTaskStore,
  spawnTaskQueue,
  TaskProducer,
  TaskQueueErrorCodes,
  type QueueWorkers,
  type TaskContext,
  type TaskQueueFamily,
  type TaskQueueSystemOptions,
} from '../../../actors/index.ts'
import { ActorSystem, SystemClock } from '../../../runtime/index.ts'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../support/dataServices.ts'

let redis: Redis
const systems: ActorSystem[] = []
const prefixes: string[] = []

beforeAll(() => {
  redis = new Redis(inject('redisUrl'))
})
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
  }
  redis.disconnect()
})

async function redisNow(): Promise<number> {
  const [s, us] = await redis.time()
  return Number(s) * 1000 + Math.floor(Number(us) / 1000)
}

async function start(label: string, queues: Record<string, QueueWorkers>, extra: Partial<TaskQueueSystemOptions> = {}): Promise<{ family: TaskQueueFamily; prefix: string; system: ActorSystem }> {
  const prefix = uniqueRedisPrefix(`tq-${label}`)
  prefixes.push(prefix)
  const system = ActorSystem.create({ name: `tq-${label}`, clock: new SystemClock() })
  systems.push(system)
  const family = await spawnTaskQueue(system, { redis, prefix, visibilityTimeoutMs: 5000, promoteIntervalMs: 20, queues, ...extra })
  return { family, prefix, system }
}

describe('TaskQueue on Redis Streams', () => {
  it('processes every task once and acks it (XACK + XDEL: the streams end empty)', async () => {
    const seen: number[] = []
    const { family } = await start('basic', { jobs: { handler: (p: { n: number }) => void seen.push(p.n), concurrency: 4 } })
    for (let n = 0; n < 40; n++) await family.queue.ask('enqueue', 'jobs', { n }, { priority: (['high', 'normal', 'low'] as const)[n % 3] as string })
    await waitFor(() => seen.length >= 40, { timeoutMs: 20_000 })
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    const stats = await waitForValue(() => family.queue.ask('stats', 'jobs'), (s) => s.counters.completed === 40 && s.inFlight === 0, { timeoutMs: 10_000 })
    expect(stats).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dlq: 0, oldestAgeMs: 0 })
  })

  it('refuses bad enqueues with typed errors and enqueues nothing', async () => {
    const { family } = await start('bad', {})
    await expect(family.queue.ask('enqueue', 'q', {}, { priority: 'urgent' })).rejects.toMatchObject({ code: TaskQueueErrorCodes.Invalid })
    await expect(family.queue.ask('enqueue', 'bad name!', {})).rejects.toMatchObject({ code: TaskQueueErrorCodes.Invalid })
    await expect(family.queue.ask('enqueue', 'q', { big: 'x'.repeat(2_000_000) })).rejects.toMatchObject({ code: TaskQueueErrorCodes.TooLarge })
    await expect(family.queue.ask('enqueue', 'q', {}, { maxAttempts: 0 })).rejects.toMatchObject({ code: TaskQueueErrorCodes.Invalid })
    expect((await family.queue.ask('stats', 'q')).waiting).toBe(0)
  })

  it('retries with backoff, dead-letters with the error details, and replays from the DLQ', async () => {
    const attempts: { at: number; attempt: number }[] = []
    let healthy = false
    const handler = async (_p: unknown, task: TaskContext): Promise<void> => {
      attempts.push({ at: await redisNow(), attempt: task.attempt })
      if (!healthy) throw Object.assign(new Error('payment gateway said no'), { code: 'ERR_GATEWAY' })
    }
    const { family } = await start('dlq', { pay: { handler, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } } })
    const { id } = await family.queue.ask('enqueue', 'pay', { order: 7 }, { maxAttempts: 3 })
    const [letter] = await waitForValue(() => family.queue.ask('deadLetters', 'pay'), (l) => l.length === 1, { timeoutMs: 15_000 })
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
    // Exponential: ≥ 100 ms before the 2nd attempt, ≥ 200 ms before the 3rd (Redis time, scheduler tick on top).
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(95)
    expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(195)
    expect(letter).toMatchObject({ taskId: id, priority: 'normal', payload: '{"order":7}', code: 'ERR_GATEWAY', message: 'payment gateway said no', attempts: 3 })
    expect(letter?.firstFailureAt).toBeLessThan(letter?.lastFailureAt ?? 0)
    expect((await family.queue.ask('stats', 'pay')).dlq).toBe(1)

    healthy = true
    expect(await family.queue.ask('replay', 'pay', { ids: [letter?.dlqId ?? ''] })).toEqual({ replayed: 1, skipped: 0 })
    await waitFor(() => attempts.length === 4, { timeoutMs: 10_000 })
    expect(attempts[3]?.attempt).toBe(1)
    const stats = await waitForValue(() => family.queue.ask('stats', 'pay'), (s) => s.counters.completed === 1, { timeoutMs: 10_000 })
    expect(stats).toMatchObject({ dlq: 0, delayed: 0, waiting: 0 })
    expect(stats.counters).toMatchObject({ retries: 2, dead: 1 })
  })

  it('a non-retryable error goes to the DLQ at once', async () => {
    const runs: number[] = []
    const { family } = await start('perm', { q: { handler: (_p: unknown, t: TaskContext) => { runs.push(t.attempt); throw Object.assign(new Error('bad input'), { retryable: false }) } } })
    await family.queue.ask('enqueue', 'q', 1, { maxAttempts: 5 })
    await waitForValue(() => family.queue.ask('deadLetters', 'q'), (l) => l.length === 1 && l[0]?.code === 'ERR_TASK_HANDLER_FAILED', { timeoutMs: 10_000 })
    expect(runs).toEqual([1])
  })

  it('suppresses duplicates within the idempotency window, and only within it', async () => {
    const seen: string[] = []
    const { family, prefix } = await start('idem', { q: { handler: (p: string) => void seen.push(p) } }, { idempotencyWindowMs: 400 })
    const first = await family.queue.ask('enqueue', 'q', 'a', { idempotencyKey: 'order-1' })
    const again = await family.queue.ask('enqueue', 'q', 'a-again', { idempotencyKey: 'order-1' })
    expect(first.duplicate).toBe(false)
    expect(again).toEqual({ id: first.id, duplicate: true })
    await waitFor(() => seen.length === 1, { timeoutMs: 10_000 })
    await waitForValue(() => redis.exists(`${prefix}{q}:idem:order-1`), (n) => n === 0, { timeoutMs: 5000 })
    const later = await family.queue.ask('enqueue', 'q', 'b', { idempotencyKey: 'order-1' })
    expect(later.duplicate).toBe(false)
    await waitFor(() => seen.length === 2, { timeoutMs: 10_000 })
    expect(seen).toEqual(['a', 'b'])
  })

  it('reclaims a delivery its consumer never settled, after the visibility timeout, and refuses the old owner\'s ack', async () => {
    const prefix = uniqueRedisPrefix('tq-reclaim')
    prefixes.push(prefix)
    const producer = new TaskProducer({ redis, prefix }, new SystemClock())
    const store = producer.store('q')
    await store.ensureGroups()
    await producer.enqueue('q', 'lost-one')
    // A consumer that takes the task and dies: the entry stays pending under its name.
    const { entries } = await store.fetch('ghost', [1, 1, 1], 0)
    expect(entries).toHaveLength(1)
    const takenAt = await redisNow()
    const runs: { at: number; attempt: number }[] = []
    const system = ActorSystem.create({ name: 'tq-reclaim', clock: new SystemClock() })
    systems.push(system)
    await spawnTaskQueue(system, { redis, prefix, visibilityTimeoutMs: 600, reclaimIntervalMs: 50, queues: { q: { handler: async (_p: unknown, t: TaskContext) => void runs.push({ at: await redisNow(), attempt: t.attempt }) } } })
    await waitFor(() => runs.length === 1, { timeoutMs: 15_000 })
    expect(runs[0]?.attempt).toBe(2)
    expect((runs[0]?.at ?? 0) - takenAt).toBeGreaterThanOrEqual(590)
    const entry = entries[0] as { level: number; entryId: string }
    expect(await store.settle('ghost', 'ack', [[entry.level, entry.entryId]])).toEqual([false])
  })

  it('renews the lease of a long task: not reclaimed while it runs', async () => {
    const runs: number[] = []
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const { family } = await start('lease', { q: { handler: async (_p: unknown, t: TaskContext) => { runs.push(t.attempt); await gate } } }, { visibilityTimeoutMs: 400, reclaimIntervalMs: 50 })
    await family.queue.ask('enqueue', 'q', 'long')
    await waitFor(() => runs.length === 1, { timeoutMs: 10_000 })
    // Three visibility timeouts pass with the task running: heartbeats keep it ours.
    const started = await redisNow()
    await waitForValue(redisNow, (t) => t - started > 1300, { timeoutMs: 10_000 })
    expect(runs).toEqual([1])
    release()
    const stats = await waitForValue(() => family.queue.ask('stats', 'q'), (s) => s.counters.completed === 1, { timeoutMs: 10_000 })
    expect(stats.counters.reclaimed ?? 0).toBe(0)
  })

  it('moves delayed tasks to the stream on time', async () => {
    const done: { at: number; enq: number }[] = []
    const { family } = await start('delay', { q: { handler: async (p: { enq: number }) => void done.push({ at: await redisNow(), enq: p.enq }) } })
    const enq = await redisNow()
    await family.queue.ask('enqueue', 'q', { enq }, { delayMs: 500 })
    expect((await family.queue.ask('stats', 'q')).delayed).toBe(1)
    await waitFor(() => done.length === 1, { timeoutMs: 15_000 })
    const lag = (done[0]?.at ?? 0) - enq
    expect(lag).toBeGreaterThanOrEqual(500)
    expect(lag).toBeLessThan(500 + 5000)
  })

  it('sends garbage someone XADDed or ZADDed to the DLQ with a reason and keeps working', async () => {
    const seen: unknown[] = []
    const { family, prefix } = await start('hostile', { q: { handler: (p: unknown) => void seen.push(p) } })
    const stream = `${prefix}{q}:p:normal`
    await redis.xadd(stream, '*', 'hello', 'world')
    await redis.xadd(stream, '*', 'h', '5:0:3:1', 'p', '{not json')
    await redis.xadd(stream, '*', 'h', '6:9:3:1', 'p', '1')
    await redis.zadd(`${prefix}{q}:delayed`, 0, '\u0000garbage')
    await family.queue.ask('enqueue', 'q', { ok: true })
    await waitFor(() => seen.length === 1, { timeoutMs: 10_000 })
    const letters = await waitForValue(() => family.queue.ask('deadLetters', 'q'), (l) => l.length === 4, { timeoutMs: 10_000 })
    expect(letters.every((l) => l.code === 'ERR_TASK_MALFORMED' && l.message.length > 0 && l.raw !== null)).toBe(true)
    expect(letters.map((l) => l.message).join('|')).toMatch(/version.*\|.*JSON.*\|.*attempts.*/s)
    // Replay leaves what cannot be a task where it is.
    expect(await family.queue.ask('replay', 'q')).toEqual({ replayed: 0, skipped: 4 })
    expect(seen).toEqual([{ ok: true }])
  })

  it('serves every priority by weight: low tasks run while high ones are still waiting', async () => {
    const order: string[] = []
    const producer = new TaskProducer({ redis, prefix: uniqueRedisPrefix('tq-fair') }, new SystemClock())
    prefixes.push(producer.config.prefix)
    for (let i = 0; i < 60; i++) await producer.enqueue('q', 'high', { priority: 'high' })
    for (let i = 0; i < 60; i++) await producer.enqueue('q', 'low', { priority: 'low' })
    const { family: _f } = await start('fair-run', { q: { handler: (p: string) => void order.push(p), concurrency: 1 } }, { prefix: producer.config.prefix })
    await waitFor(() => order.length === 120, { timeoutMs: 30_000 })
    // Weights 8:4:1 with `normal` empty: its quota goes to `high`, so `low` gets 1 of each 13 picks.
    const firstLow = order.indexOf('low')
    expect(firstLow).toBeGreaterThanOrEqual(0)
    expect(firstLow).toBeLessThan(14)
    expect(order.slice(0, 52).filter((p) => p === 'low').length).toBeGreaterThanOrEqual(3)
  })

  it('caps tasks in flight across the queue\'s consumers (maxInFlight)', async () => {
    let running = 0
    let peak = 0
    let done = 0
    const handler = async (): Promise<void> => {
      running++
      peak = Math.max(peak, running)
      await waitForValue(redisNow, () => true)
      running--
      done++
    }
    const { family } = await start('cap', { q: { handler, concurrency: 5, workers: 2, maxInFlight: 3 } })
    for (let i = 0; i < 30; i++) await family.queue.ask('enqueue', 'q', i)
    await waitFor(() => done === 30, { timeoutMs: 20_000 })
    expect(peak).toBeLessThanOrEqual(3)
    expect(peak).toBeGreaterThanOrEqual(2)
  })

  it('store: a task in the wrong place is never in two places (enqueue → fetch → fail → promote)', async () => {
    const prefix = uniqueRedisPrefix('tq-store')
    prefixes.push(prefix)
    const producer = new TaskProducer({ redis, prefix }, new SystemClock())
    const store: RedisTaskStore = producer.store('q')
    await store.ensureGroups()
    await producer.enqueue('q', { x: 1 })
    const { entries } = await store.fetch('c1', [0, 2, 0], 0)
    const e = entries[0] as { level: number; entryId: string }
    expect(await store.fail('c1', e.level, e.entryId, 'retry', 0, ['v', '1', 'id', '1', 'p', '{"x":1}', 'a', '1', 'm', '3', 't', '1', 'pr', 'normal'])).toBe(true)
    expect(await store.fail('c1', e.level, e.entryId, 'retry', 0, [])).toBe(false)
    let s = await store.stats()
    expect([s.waiting, s.inFlight, s.delayed]).toEqual([0, 0, 1])
    expect((await store.promote(10)).moved).toBe(1)
    s = await store.stats()
    expect([s.waiting, s.inFlight, s.delayed]).toEqual([1, 0, 0])
  })
})
