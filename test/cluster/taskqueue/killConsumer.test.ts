/**
 * A consumer process killed with SIGKILL in the middle of its tasks: the tasks it held are
 * reclaimed after the visibility timeout and processed by the other consumer process, which ran
 * alongside it from the start. None is
 * lost, and no two runs of one task overlap (the killed process's runs end at the kill). Runs are
 * recorded in Redis on Redis's clock by the consumers themselves (fixture consumerApp.ts).
 */
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { TaskProducer } from '../../../actors/index.ts'
import { SystemClock } from '../../../runtime/index.ts'
import { waitForValue } from '../../../testing/index.ts'
import { uniqueRedisPrefix } from '../../support/dataServices.ts'
import { startNodeProcess, type NodeProcess } from '../support.ts'

const TASKS = Number(process.env['TQ_KILL_TASKS'] ?? 40)
const VT = 1500
const processes: NodeProcess[] = []
const redis = new Redis(inject('redisUrl'))
const prefix = uniqueRedisPrefix('tq-kill')

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL')
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
})

function consumer(name: string): NodeProcess {
  const node = startNodeProcess(['start', '--app', 'test/cluster/taskqueue/consumerApp.ts', '--name', name, '--http', ''], {
    TQ_REDIS_URL: inject('redisUrl'),
    TQ_PREFIX: prefix,
    TQ_VT_MS: String(VT),
    TQ_CONCURRENCY: '3',
  })
  processes.push(node)
  return node
}

interface Run { task: string; node: string; attempt: number; start: number; end: number | null }

async function runs(): Promise<Run[]> {
  const lines = await redis.lrange(`${prefix}runs`, 0, -1)
  const open = new Map<string, Run>()
  const all: Run[] = []
  for (const line of lines) {
    const [ev, task, node, attempt, at] = line.split(' ') as [string, string, string, string, string]
    const key = `${task}/${node}/${attempt}`
    if (ev === 'start') {
      const run: Run = { task, node, attempt: Number(attempt), start: Number(at), end: null }
      open.set(key, run)
      all.push(run)
    } else {
      const run = open.get(key)
      if (run !== undefined) run.end = Number(at)
    }
  }
  return all
}

describe('task queue: a consumer process killed with SIGKILL mid-task', () => {
  it('loses no task and never runs one task twice at once', async () => {
    const producer = new TaskProducer({ redis, prefix }, new SystemClock())
    await producer.store('jobs').ensureGroups()
    for (let i = 0; i < TASKS; i++) await producer.enqueue('jobs', { ms: 400 })
    // Both consume side by side before the kill: their runs must not overlap either.
    const victim = consumer('victim')
    const survivor = consumer('survivor')
    await Promise.all([victim.waitForLog((l) => l['taskQueueReady'] === 'victim', 90_000), survivor.waitForLog((l) => l['taskQueueReady'] === 'survivor', 90_000)])
    // Kill it while it holds unfinished tasks.
    // A run that started under 150 ms ago (Redis's clock) still has ≥ 250 ms of its 400 to go, so the
    // kill lands before it can finish (a run merely still open could end between the check and the kill).
    const redisNow = async () => {
      const [sec, micro] = await redis.time()
      return Number(sec) * 1000 + Math.floor(Number(micro) / 1000)
    }
    const atKill = () => Promise.all([runs(), redisNow()])
    await waitForValue(atKill, ([r, now]) => r.some((x) => x.node === 'victim' && x.end === null && now - x.start < 150) && r.some((x) => x.node === 'victim' && x.end !== null), { timeoutMs: 30_000 })
    victim.child.kill('SIGKILL')
    await victim.exited
    const [s, us] = await redis.time()
    const killedAt = Number(s) * 1000 + Math.floor(Number(us) / 1000)

    const done = (r: Run[]): boolean => new Set(r.filter((x) => x.end !== null).map((x) => x.task)).size === TASKS
    const all = await waitForValue(runs, done, { timeoutMs: 90_000 })
    const held = all.filter((x) => x.node === 'victim' && x.end === null)
    expect(held.length).toBeGreaterThan(0)

    // None lost: every task has a finished run; the queue is empty with nothing in flight or dead.
    const stats = await waitForValue(() => producer.stats('jobs'), (st) => st.counters.completed >= TASKS, { timeoutMs: 30_000 })
    expect(stats).toMatchObject({ waiting: 0, inFlight: 0, delayed: 0, dlq: 0 })

    // Never concurrent: per task, runs (the killed one's ending at the kill) do not overlap.
    const byTask = new Map<string, Run[]>()
    for (const run of all) byTask.set(run.task, [...(byTask.get(run.task) ?? []), run])
    for (const [task, list] of byTask) {
      const spans = list.map((r) => [r.start, r.end ?? killedAt] as const).sort((a, b) => a[0] - b[0])
      for (let i = 1; i < spans.length; i++) expect((spans[i] as readonly number[])[0], `task ${task} ran twice at once`).toBeGreaterThanOrEqual((spans[i - 1] as readonly number[])[1] as number)
    }
    // The held tasks came back through the visibility timeout: run again by the survivor, as attempt 2,
    // no sooner than a visibility timeout after the victim took them (less the delivery-to-start gap).
    for (const h of held) {
      const again = all.find((x) => x.task === h.task && x.node === 'survivor' && x.end !== null)
      expect(again, `held task ${h.task} was not run again`).toBeDefined()
      expect(again?.attempt).toBe(2)
      expect((again?.start ?? 0) - h.start).toBeGreaterThanOrEqual(VT - 500)
    }
    // Only tasks the victim had started may run twice (at least once, not more than needed).
    for (const [task, list] of byTask) if (list.length > 1) expect(list.some((r) => r.node === 'victim'), `task ${task}`).toBe(true)
    survivor.child.kill('SIGTERM')
    await survivor.exited
  }, 240_000)
})
