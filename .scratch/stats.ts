import { Redis } from 'ioredis'
import { RedisLimiter } from '../actors/index.ts'
import { SystemClock } from '../runtime/index.ts'
const redis = new Redis('redis://127.0.0.1:6379')
const specs = [
  { algorithm: 'gcra', maxBurst: 999, countPerPeriod: 1_000_000, periodMs: 1000 },
  { algorithm: 'sliding-window', limit: 1e9, windowMs: 1000 },
] as const
for (const spec of specs) {
  await redis.config('RESETSTAT')
  const l = new RedisLimiter(spec, { redis, clock: new SystemClock(), prefix: `scratch:${process.pid}:` })
  for (let r = 0; r < 20; r++) await Promise.all(Array.from({ length: 500 }, (_, i) => l.decide(`k${i}`, 1)))
  for (let r = 0; r < 20; r++) await Promise.all(Array.from({ length: 500 }, (_, i) => redis.incr(`scratch:${process.pid}:i${i}`)))
  const info = await redis.info('commandstats')
  console.log(spec.algorithm, info.split('\n').filter((x) => /evalsha|incr|cmdstat_time|cmdstat_get|cmdstat_set|pttl|pexpire|hmget|hset/.test(x)).join('\n'))
}
redis.disconnect()
