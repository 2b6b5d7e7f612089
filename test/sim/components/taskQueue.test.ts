/**
 * The task queue on its simulator twin, over seeds: MemoryTaskRedis behind a SimulatedService per
 * process (latency, stalls, lost replies), a producer, a scheduler and three consumer processes
 * (TaskWorker, 2 slots, visibility timeout 300 ms). Handlers take 5–60 ms, some 400 ms (longer than
 * the visibility timeout: their leases must be renewed), and fail one time in six. Twice per seed a
 * consumer process crashes mid-work and a fresh one takes its place.
 *
 * After every event: no task runs on two consumers at once (a run ends when its handler settles,
 * its signal aborts, or its process dies). At the end: every task completed or is in the DLQ, and
 * the low priority was served while high-priority work was still waiting (no starvation).
 * TROUPE_SIM_TQ_SEEDS sets the seed count (default 200).
 */
import { describe, expect, it } from 'vitest'
import { MemoryTaskRedis, TaskProducer, TaskScheduler, TaskWorker, type TaskContext, type TaskScriptPort } from '../../../actors/index.ts'
import { forEachSeed, SimulatedService, type SimProcess, type Simulation } from '../../../testing/index.ts'
import { seeds } from '../support/seeds.ts'

const VT = 300
const PREFIX = 'sim:'
const TASKS = { high: 30, normal: 15, low: 10 }

interface Run {
  readonly n: number
  readonly priority: string
  readonly process: SimProcess
  readonly start: number
  end: number | null
  ok: boolean
}

async function scenario(sim: Simulation): Promise<void> {
  const twin = new MemoryTaskRedis({ now: () => sim.now })
  const port = (process: SimProcess, name: string): TaskScriptPort =>
    new SimulatedService(sim, twin, { name, process, latency: { minMs: 1, maxMs: 3 }, timeoutMs: 250, faults: { stallRate: 0.01, stallMs: 150, ambiguousRate: 0.005 } }).client
  const runs: Run[] = []
  const open = new Map<number, Run>()
  const live: Run[] = []
  // After every event: among runs not ended (whose process is alive), each task at most once.
  sim.invariant('a task runs on one consumer at a time', () => {
    const seen = new Set<number>()
    for (let i = live.length - 1; i >= 0; i--) {
      const r = live[i] as Run
      if (r.end !== null || r.process.isCrashed) {
        live.splice(i, 1)
        continue
      }
      if (seen.has(r.n)) return `task ${r.n} runs on two consumers at once`
      seen.add(r.n)
    }
    return true
  })

  const handler = (process: SimProcess) => (payload: { n: number }, task: TaskContext): Promise<void> => {
    const other = open.get(payload.n)
    if (other !== undefined && !other.process.isCrashed) sim.reportFailure(`task ${payload.n} started on ${process.label} while it runs on ${other.process.label} since ${other.start}`)
    const run: Run = { n: payload.n, priority: task.priority, process, start: sim.now, end: null, ok: false }
    runs.push(run)
    live.push(run)
    open.set(payload.n, run)
    const r = sim.random.next()
    const ms = r < 0.1 ? 400 : 5 + Math.floor(r * 55)
    const fails = sim.random.next() < 1 / 6
    return new Promise<void>((resolve, reject) => {
      const done = (error: unknown): void => {
        if (run.end !== null) return
        run.end = sim.now
        if (open.get(payload.n) === run) open.delete(payload.n)
        if (error === null) {
          run.ok = true
          resolve()
        } else reject(error)
      }
      task.signal.addEventListener('abort', () => done(task.signal.reason))
      process.clock.setTimer(ms, () => done(fails ? new Error('flaky handler') : null))
    })
  }

  const consumers: SimProcess[] = []
  const startConsumer = (): void => {
    const process = sim.createProcess(`consumer-${consumers.length}`)
    consumers.push(process)
    const system = sim.createSystem({ name: process.label, process })
    system.spawn(TaskWorker, {
      name: 'worker',
      args: [{ port: port(process, `redis-${process.label}`), prefix: PREFIX, queue: 'q', consumer: process.label, concurrency: 2, visibilityTimeoutMs: VT, heartbeatMs: 100, pollIntervalMs: 20, commandTimeoutMs: 200, maxAttempts: 4, backoff: { baseMs: 20, maxMs: 100, jitter: 0.5 }, handler: handler(process) }],
    })
  }
  for (let i = 0; i < 3; i++) startConsumer()
  const schedProcess = sim.createProcess('scheduler')
  sim.createSystem({ name: 'scheduler', process: schedProcess }).spawn(TaskScheduler, {
    name: 'scheduler',
    args: [{ port: port(schedProcess, 'redis-scheduler'), prefix: PREFIX, queues: ['q'], visibilityTimeoutMs: VT, promoteIntervalMs: 20, commandTimeoutMs: 200 }],
  })
  const producerProcess = sim.createProcess('producer')
  const producer = new TaskProducer({ port: port(producerProcess, 'redis-producer'), prefix: PREFIX, commandTimeoutMs: 200, maxAttempts: 4 }, producerProcess.clock)
  const enqueued = new Set<number>()
  // An enqueue whose answer was lost may have happened: retry with the same idempotency key.
  const enqueue = (n: number, priority: string): void => {
    producer.enqueue('q', { n }, { priority, idempotencyKey: `t${n}` }).then(
      () => void enqueued.add(n),
      () => producerProcess.clock.setTimer(10, () => enqueue(n, priority)),
    )
  }
  let n = 0
  const byTask = new Map<number, string>()
  sim.at(0, () => {
    for (const [priority, count] of Object.entries(TASKS)) {
      for (let i = 0; i < count; i++) {
        byTask.set(++n, priority)
        enqueue(n, priority)
      }
    }
  })
  // Two crashes, each at a random moment of the busy phase, and a fresh consumer each time.
  for (let c = 0; c < 2; c++) {
    sim.at(50 + Math.floor(sim.random.next() * 600), () => {
      const live = consumers.filter((p) => !p.isCrashed)
      const victim = live[Math.floor(sim.random.next() * live.length)]
      victim?.crash()
      startConsumer()
    })
  }
  const stream = (p: string): string => `${PREFIX}{q}:p:${p}`
  const drained = (): boolean => enqueued.size === n && n > 0 && ['high', 'normal', 'low'].every((p) => twin.data.xlen(stream(p)) === 0) && twin.data.zcard(`${PREFIX}{q}:delayed`) === 0
  await sim.runUntil(drained, 120_000)
  if (process.env['TQ_SIM_DEBUG'] === '1') console.log(sim.now, runs.length, runs.filter((r) => r.ok).length, twin.data.xlen(`${PREFIX}{q}:dlq`), consumers.filter((p) => p.isCrashed).length)

  const dead = new Set(twin.data.xrange(`${PREFIX}{q}:dlq`, '-', '+').map(([, f]) => JSON.parse(f[f.indexOf('p') + 1] ?? 'null') as { n: number } | null).map((p) => p?.n))
  for (let t = 1; t <= n; t++) {
    if (!runs.some((r) => r.n === t && r.ok) && !dead.has(t)) throw new Error(`task ${t} (${byTask.get(t)}) neither completed nor in the DLQ`)
  }
  // No starvation: low tasks started while high tasks were still waiting for their first run.
  const firstStart = new Map<number, number>()
  for (const r of runs) if (!firstStart.has(r.n)) firstStart.set(r.n, r.start)
  const lastHigh = Math.max(...[...firstStart].filter(([t]) => byTask.get(t) === 'high').map(([, at]) => at))
  const lowEarly = [...firstStart].filter(([t, at]) => byTask.get(t) === 'low' && at < lastHigh).length
  if (lowEarly < 1) throw new Error(`no low task ran before the last high task started (at ${lastHigh})`)
}

describe('task queue on its simulator twin, with consumer crashes', () => {
  it('never runs a task twice at once; every task completes or is dead-lettered; low is not starved', async () => {
    const ran = await forEachSeed({ seeds: seeds(Number(process.env['TROUPE_SIM_TQ_SEEDS'] ?? 200)) }, scenario)
    expect(ran).toBeGreaterThan(0)
  })
})
