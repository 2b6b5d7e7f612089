/** The task queue's scripts by name (each one atomic state change; see taskScripts.ts and adminScripts.ts). */
export type TaskScriptName = 'enqueue' | 'fetch' | 'settle' | 'fail' | 'promote' | 'reclaim' | 'replay' | 'stats' | 'ensureGroups' | 'deadLetters'

/**
 * The port RedisTaskStore talks to: one atomic script call. Two implementations: an ioredis
 * client or cluster (the Lua scripts, EVALSHA through `defineCommand`), and MemoryTaskRedis, the
 * in-memory Redis Streams twin that runs the same steps on an injected clock for the
 * deterministic simulator (wrap it in testing's SimulatedService for latency and faults).
 *
 * `keys` and `args` are exactly what the Lua script receives as KEYS and ARGV; the reply is what it
 * returns (numbers as integers, strings as strings, nested arrays). A failure rejects or throws;
 * the store turns it into ERR_TASK_QUEUE_UNAVAILABLE.
 */
export interface TaskScriptPort {
  runTaskScript(name: TaskScriptName, keys: string[], args: (string | number)[]): unknown
}

/** `a < b` for stream entry ids (`<ms>-<seq>`, both below 2^53 in practice): by ms, then by seq. */
export function idLess(a: string, b: string): boolean {
  const da = a.indexOf('-')
  const db = b.indexOf('-')
  const am = Number(a.slice(0, da))
  const bm = Number(b.slice(0, db))
  return am < bm || (am === bm && Number(a.slice(da + 1)) < Number(b.slice(db + 1)))
}
