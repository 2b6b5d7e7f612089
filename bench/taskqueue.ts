/**
 * Suite `taskqueue` (`npm run bench -- taskqueue`): tasks/s end to end through the Redis Streams
 * task queue — enqueue (Lua: idempotency check, id, XADD), weighted fetch across three priority
 * streams (Lua), handler, owner-checked batched ack (XACK + XDEL, carried by the next fetch) —
 * against the least a Redis Streams queue can do in the same run: raw `XADD` producers, one
 * `XREADGROUP COUNT 64` consumer loop and one `XACK` per batch.
 *
 * Like with like: one connection for both; 64 producers in flight on both sides, each awaiting its
 * enqueue before the next; reads of up to 64 (the worker has 64 slots and a no-op handler, so each
 * fetch asks for what the baseline's COUNT 64 asks for); the payload `{i}` JSON-parsed once per
 * task on both sides. What differs is the product: the queue coalesces concurrent enqueues into one
 * script call (≤ 64) where the baseline sends one XADD per producer (ioredis's default; with
 * `enableAutoPipelining` the baseline measured no faster here, 2026-12-02), and it pays for
 * priorities, task ids, owner checks, XDEL and counters that the baseline does not have.
 * Target: ratio ≥ 0.7.
 *
 * Redis comes from the test service ladder: REDIS_URL, else a redis-server started for the run.
 */
import { Redis } from 'ioredis'
import { TaskProducer, TaskWorker, type TaskWorkerProtocol } from '../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../runtime/index.ts'
import { provideRedis } from '../test/support/dataServices.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate, type Suite } from './harness.ts'

const N = Number(process.env['TQ_BENCH_N'] ?? 20_000)
const PRODUCERS = 64
const BATCH = 64
const ROUNDS = 3

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

async function producers(n: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: PRODUCERS }, async () => {
    while (next < n) await send(next++)
  }))
}

async function run(): Promise<void> {
  const service = await provideRedis()
  note(`Redis from ${service.source}: ${service.url}`)
  const redis = new Redis(service.url)
  const prefix = `bench:tq:${process.pid}:`
  let roundNo = 0
  const system = ActorSystem.create({ name: 'bench-taskqueue', clock: new SystemClock() })
  try {
    const candidate = async (n: number): Promise<Rate> => {
      const queue = `q${roundNo++}`
      const producer = new TaskProducer({ redis, prefix }, system.clock)
      await producer.store(queue).ensureGroups()
      let handled = 0
      let allHandled = (): void => {}
      const handledAll = new Promise<void>((resolve) => (allHandled = resolve))
      const worker: ActorRef<TaskWorkerProtocol> = await system.spawnAndWait(TaskWorker, {
        args: [{ redis, prefix, queue, concurrency: BATCH, pollIntervalMs: 1, handler: () => void (++handled === n && allHandled()) }],
      })
      const stop = startTiming()
      await producers(n, (i) => producer.enqueue(queue, { i }))
      // No busy loop while the worker runs (it would bill its CPU to the candidate): wait for the last
      // handler, then for its ack.
      await handledAll
      while ((await worker.ask('stats')).completed < n) await turn()
      const timing = stop()
      check((await worker.ask('stats')).completed === n, 'the worker did not complete every task exactly once')
      system.stop(worker)
      return rate(n, timing)
    }
    const baseline = async (n: number): Promise<Rate> => {
      const stream = `${prefix}raw${roundNo++}`
      await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM')
      let acked = 0
      const stop = startTiming()
      const produced = producers(n, (i) => redis.xadd(stream, '*', 'p', JSON.stringify({ i })))
      while (acked < n) {
        const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', BATCH, 'STREAMS', stream, '>')) as [string, [string, string[]][]][] | null
        const entries = reply?.[0]?.[1] ?? []
        if (entries.length === 0) {
          await turn()
          continue
        }
        for (const [, fields] of entries) JSON.parse(fields[1] as string)
        acked += (await redis.xack(stream, 'g', ...entries.map(([id]) => id))) as number
      }
      await produced
      return rate(n, stop())
    }
    await candidate(N / 10)
    await baseline(N / 10)
    const runs = await paired(ROUNDS, () => candidate(N), () => baseline(N))
    const wall = runs.candidate.map((r) => r.perSecond)
    const base = runs.baseline.map((r) => r.perSecond)
    report({
      case: 'taskqueue.e2e',
      value: round(median(wall)),
      unit: 'tasks/s',
      baseline: round(median(base)),
      ratio: round(pairedRatio(wall, base), 3),
      cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
      rounds: wall.map((v) => round(v, 3)),
      baselineRounds: base.map((v) => round(v, 3)),
      n: N,
      producers: PRODUCERS,
      batch: BATCH,
      baselineIs: 'raw XADD (64 producers in flight, one command each) + XREADGROUP COUNT 64 + XACK per batch, same connection',
      candidateIs: '64 producers in flight (enqueues coalesced, <= 64 per script call), one worker with 64 slots (fetch <= 64, acks carried by the next fetch), no-op handler',
      target: 'ratio >= 0.7',
    })
  } finally {
    await system.terminate()
    const stale = await redis.keys(`${prefix}*`)
    for (let i = 0; i < stale.length; i += 500) await redis.del(...stale.slice(i, i + 500))
    redis.disconnect()
    await service.stop()
  }
}

export const suite: Suite = {
  description: 'task queue on Redis Streams: tasks/s end to end vs raw XADD + XREADGROUP + XACK in the same run (needs Redis: REDIS_URL or redis-server)',
  cases: ['e2e'],
  run: () => run(),
}
