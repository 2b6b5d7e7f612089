import { Redis } from 'ioredis'
import { LIMITER_SCRIPTS } from '../actors/limiter/redisScripts.ts'
const redis = new Redis('redis://127.0.0.1:6379')
const p = `scratch:${process.pid}:`
redis.defineCommand('triv', { lua: "return redis.call('TIME')", numberOfKeys: 4 })
redis.defineCommand('triv2', { lua: "local t = redis.call('TIME') local m = redis.call('MGET', KEYS[2], KEYS[4], KEYS[1]) redis.call('SET', KEYS[1], '123456789012345.5', 'PX', 1000) return {1,2,3,4,5,6}", numberOfKeys: 4 })
redis.defineCommand('gcra', { lua: LIMITER_SCRIPTS.gcra.lua, numberOfKeys: 4 })
const r = redis as any
for (let round = 0; round < 3; round++) {
  for (const name of ['triv', 'triv2', 'gcra']) {
    await redis.config('RESETSTAT')
    for (let x = 0; x < 10; x++) await Promise.all(Array.from({ length: 500 }, (_, i) => r[name](`${p}{k${i}}`, `${p}{k${i}}:b`, `${p}{k${i}}:q`, `${p}{k${i}}:d`, 'd', 1, 0, 1, 1000)))
    const info = await redis.info('commandstats')
    console.log(name, info.split('\n').filter((x) => /evalsha/.test(x)).join(''))
  }
}
redis.disconnect()
