/**
 * One "node" of the cluster-wide atomicity test: its own process and Redis connection; for each
 * spec, `callers` concurrent callers hammer that spec's one shared key for `durationMs`. Prints one
 * JSON line: per spec, the Redis server time (ms) at which each admitted request was admitted.
 * argv: redisUrl prefix specsJson callers durationMs
 */
import { Redis } from 'ioredis'
import { RedisLimiter, type AlgorithmSpec } from '../../../../actors/index.ts'
import { SystemClock } from '../../../../runtime/index.ts'

const [url, prefix, specJson, callersArg, durationArg] = process.argv.slice(2)
const redis = new Redis(url as string)
const specs = JSON.parse(specJson as string) as AlgorithmSpec[]
const callers = Number(callersArg)
const until = Date.now() + Number(durationArg)

async function hammer(spec: AlgorithmSpec, index: number): Promise<{ admitted: number[]; refused: number }> {
  const limiter = new RedisLimiter(spec, { redis, clock: new SystemClock(), commandTimeoutMs: 30_000, prefix: `${prefix as string}${index}:` })
  const admitted: number[] = []
  let refused = 0
  const caller = async (): Promise<void> => {
    while (Date.now() < until) {
      // A loaded CI machine can stall Redis for seconds: the generous timeout keeps this a test of
      // atomicity, not of latency (a timeout would still be a typed error, never an admission).
      const d = await limiter.decide('shared', 1)
      // The script's own clock reading: resetAtMs is Redis TIME + resetAfterMs.
      if (d.allowed) admitted.push(d.resetAtMs - d.resetAfterMs)
      else refused++
    }
  }
  await Promise.all(Array.from({ length: callers }, caller))
  return { admitted, refused }
}

const results = await Promise.all(specs.map(hammer))
process.stdout.write(`${JSON.stringify(results)}\n`)
redis.disconnect()
