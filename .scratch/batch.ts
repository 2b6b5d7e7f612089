import { Redis } from 'ioredis'
import { RedisLimiter } from '../actors/index.ts'
import { SystemClock } from '../runtime/index.ts'
const redis = new Redis('redis://127.0.0.1:6379')
const l = new RedisLimiter({ algorithm: 'gcra', maxBurst: 999, countPerPeriod: 1_000_000, periodMs: 1000 }, { redis, clock: new SystemClock(), prefix: `scratch:${process.pid}:` })
const anyL = l as any
const orig = anyL.invoke.bind(l)
const sizes: number[] = []
anyL.invoke = (keys: string[], args: unknown[], key: string) => { sizes.push(keys.length / 4); return orig(keys, args, key) }
for (let round = 0; round < 3; round++) {
  sizes.length = 0
  let next = 0
  const t = performance.now()
  await Promise.all(Array.from({ length: 64 }, async () => { while (next < 20000) await l.decide(`k${next++ % 1000}`, 1) }))
  const ms = performance.now() - t
  const hist = new Map<number, number>(); for (const s of sizes) hist.set(s, (hist.get(s) ?? 0) + 1)
  console.log(Math.round(20000 / ms * 1000), 'dec/s', sizes.length, 'calls', [...hist].sort((a, b) => b[1] - a[1]).slice(0, 6))
}
redis.disconnect()
