import { Redis } from 'ioredis'
import { RedisLimiter } from '../actors/index.ts'
import { SystemClock } from '../runtime/index.ts'
const redis = new Redis('redis://127.0.0.1:6379')
const clock = new SystemClock()
const specs = [
  { algorithm: 'gcra', maxBurst: 4, countPerPeriod: 1, periodMs: 1000 },
  { algorithm: 'token-bucket', capacity: 5, refillTokens: 1, refillIntervalMs: 1000 },
  { algorithm: 'fixed-window', limit: 5, windowMs: 1000 },
  { algorithm: 'sliding-log', limit: 5, windowMs: 1000 },
  { algorithm: 'sliding-window', limit: 5, windowMs: 1000 },
] as const
for (const spec of specs) {
  const l = new RedisLimiter(spec, { redis, clock, prefix: `smoke:${Math.random()}:` })
  const out = []
  out.push(await l.decide('k', 6))
  for (let i = 0; i < 6; i++) out.push(await l.decide('k', 1))
  out.push(await l.get('k'), await l.get('other'))
  out.push(await l.adjust('k', -2), await l.set('k', 1, 300), await l.block('k', 200), await l.decide('k', 1), await l.delete('k'), await l.get('k'))
  console.log(spec.algorithm, out.map((d) => d === null || typeof d === 'boolean' ? d : `${d.allowed ? 'Y' : 'n'} r${d.remaining} retry${d.retryAfterMs} reset${d.resetAfterMs}`).join(' | '))
}
redis.disconnect()
