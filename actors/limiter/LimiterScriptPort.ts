import type { AlgorithmSpec } from './LimiterSpec.ts'

/**
 * The port RedisLimiter talks to: one atomic script call per decision (or per batch). Two
 * implementations: an ioredis client or cluster (the Lua of redisScripts.ts, `defineCommand`), and
 * MemoryLimiterServer, the in-memory twin that runs the same rules on an injected clock for the
 * deterministic simulator (wrap it in testing's SimulatedService for latency and faults).
 *
 * `keys` and `args` are exactly what the Lua script receives as KEYS and ARGV (see redisScripts.ts);
 * the reply is what it returns. A failure rejects (or throws); the limiter turns it into
 * ERR_LIMITER_UNAVAILABLE, or retries it when its message starts with TRYAGAIN / BUSY / LOADING.
 */
export interface LimiterScriptPort {
  runLimiterScript(algorithm: AlgorithmSpec['algorithm'], keys: string[], args: (string | number)[]): unknown
}
