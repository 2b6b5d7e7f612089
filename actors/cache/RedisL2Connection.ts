import type { Redis } from 'ioredis'
import type { RedisFastPath } from '../clients/RedisFastPath.ts'
import { DELETE, DELETE_MANY, DELETE_TAG, LOCK, UNLOCK, WRITE } from './cacheScripts.ts'

export const SCRIPTS = { troupeCacheWrite: WRITE, troupeCacheDelete: DELETE, troupeCacheDeleteMany: DELETE_MANY, troupeCacheDeleteTag: DELETE_TAG, troupeCacheLock: LOCK, troupeCacheUnlock: UNLOCK }
export type ScriptName = keyof typeof SCRIPTS
type Arg = string | number | Buffer

/**
 * The few Redis calls RedisCacheL2 makes, over either connection it accepts: a raw ioredis client,
 * or a RedisClient actor's same-shard fast path (its breaker, health and reconnection, no message
 * per call). The hot read is `getBuffer`: one GET, the reply kept binary.
 */
export interface L2Connection {
  getBuffer(key: string): Promise<Buffer | null>
  get(key: string): Promise<string | null>
  script(name: ScriptName, keys: readonly string[], args: readonly Arg[]): Promise<unknown>
  scan(cursor: string, match: string, count: number): Promise<[string, string[]]>
  /** Redis's TIME: [seconds, microseconds]. */
  time(): Promise<[string, string]>
}

type Script = (...args: Arg[]) => Promise<unknown>

/** Scripts as ioredis commands (`defineCommand`: EVALSHA, EVAL on NOSCRIPT). */
export function ioredisConnection(redis: Redis): L2Connection {
  const client = redis as unknown as Record<string, unknown> & { defineCommand(name: string, d: { lua: string }): void }
  const scripts = {} as Record<ScriptName, Script>
  for (const [name, lua] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
    if (typeof client[name] !== 'function') client.defineCommand(name, { lua })
    const fn = client[name] as Script
    scripts[name] = (...args) => fn.call(client, ...args)
  }
  return {
    getBuffer: (key) => redis.getBuffer(key),
    get: (key) => redis.get(key),
    script: (name, keys, args) => scripts[name](keys.length, ...keys, ...args),
    scan: (cursor, match, count) => redis.scan(cursor, 'MATCH', match, 'COUNT', count),
    time: () => redis.time() as unknown as Promise<[string, string]>,
  }
}

export function fastPathConnection(fast: RedisFastPath): L2Connection {
  return {
    getBuffer: (key) => fast.commandBuffer('GET', key) as Promise<Buffer | null>,
    get: (key) => fast.command('GET', key) as Promise<string | null>,
    script: (name, keys, args) => fast.eval(SCRIPTS[name], keys, args),
    scan: (cursor, match, count) => fast.command('SCAN', cursor, 'MATCH', match, 'COUNT', count) as Promise<[string, string[]]>,
    time: () => fast.command('TIME') as Promise<[string, string]>,
  }
}
