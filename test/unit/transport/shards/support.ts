import { afterEach } from 'vitest'
import { ShardedSystem, type ShardedSystemOptions } from '../../../../transport/index.ts'

/**
 * `const startSharded = shardedSystems()` at the top of a test file: every sharded system a test
 * starts with it is terminated after that test, whatever the test's outcome.
 */
export function shardedSystems(): (options: ShardedSystemOptions) => Promise<ShardedSystem> {
  const started: ShardedSystem[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((system) => system.terminate()))
  }, 20_000)
  return async (options) => {
    const system = await ShardedSystem.create(options)
    started.push(system)
    return system
  }
}
