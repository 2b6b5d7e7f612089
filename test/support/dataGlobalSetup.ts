/**
 * Vitest globalSetup of the `integration` and `cluster` projects: one Redis and one PostgreSQL for
 * the run, from the service ladder (test/support/dataServices.ts). Tests read their URLs with
 * `inject('redisUrl')` / `inject('databaseUrl')` and isolate themselves by key prefix / schema.
 * Tests that kill a server start their own (`LocalRedisServer.start()`), never this shared one.
 */
import type { TestProject } from 'vitest/node'
import { providePostgres, provideRedis } from './dataServices.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string
    databaseUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, postgres] = await Promise.all([provideRedis(), providePostgres()])
  process.stderr.write(`[${project.name}] Redis from ${redis.source}: ${redis.url}; PostgreSQL from ${postgres.source}: ${postgres.url}\n`)
  project.provide('redisUrl', redis.url)
  project.provide('databaseUrl', postgres.url)
  return async () => {
    await Promise.all([redis.stop(), postgres.stop()])
  }
}
