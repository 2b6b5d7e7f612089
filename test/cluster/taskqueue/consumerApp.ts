/**
 * A node app for the kill -9 test: consumes queue `jobs` and records, for every run of a task,
 * its start and end on Redis's clock (a Lua script reads TIME and RPUSHes in one step), so the
 * test can check from outside that no run was lost and no two runs of a task overlapped.
 * Settings come from the environment: TQ_REDIS_URL, TQ_PREFIX, TQ_VT_MS, TQ_CONCURRENCY.
 */
import { Redis } from 'ioredis'
import { defineApp } from '../../../cluster/node/index.ts'
import { spawnTaskQueue, type TaskContext } from '../../../actors/index.ts'

const RECORD = `local t = redis.call('TIME')
redis.call('RPUSH', KEYS[1], ARGV[1] .. ' ' .. (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
return 1`

let redis: Redis | null = null

export default defineApp({
  name: 'taskqueue-consumer',
  actors: {},
  async start(context) {
    const env = process.env
    const prefix = env['TQ_PREFIX'] as string
    redis = new Redis(env['TQ_REDIS_URL'] as string)
    const client = redis
    const record = (what: string): Promise<unknown> => client.eval(RECORD, 1, `${prefix}runs`, what)
    const handler = async (payload: { ms: number }, task: TaskContext): Promise<void> => {
      await record(`start ${task.taskId} ${context.node} ${task.attempt}`)
      await new Promise((resolve) => setTimeout(resolve, payload.ms))
      await record(`end ${task.taskId} ${context.node} ${task.attempt}`)
    }
    const vt = Number(env['TQ_VT_MS'] ?? 1500)
    await spawnTaskQueue(context.system, {
      redis,
      prefix,
      visibilityTimeoutMs: vt,
      reclaimIntervalMs: 100,
      queues: { jobs: { handler, concurrency: Number(env['TQ_CONCURRENCY'] ?? 3), pollIntervalMs: 20, consumer: context.node } },
    })
    context.logger.info({ taskQueueReady: context.node }, 'task queue consumer ready')
  },
  stop() {
    redis?.disconnect()
  },
})
