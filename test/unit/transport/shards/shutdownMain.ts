/**
 * Child-process side of the shutdown test: starts a sharded system with work in flight, terminates
 * it, and then does nothing — the process must end by itself. `stuck` adds an actor whose handler
 * never settles, so its shard cannot finish stopping and is ended at the shutdown deadline. `stray`
 * adds an actor that leaves a host interval running in shard 2: its thread is ended once its actors
 * have stopped, long before the (20 s) deadline.
 */
import { ShardedSystem } from '../../../../transport/index.ts'
import type { ParentProtocol } from './shutdownApp.ts'

const stuck = process.argv.includes('stuck')
const stray = process.argv.includes('stray')
const sharded = await ShardedSystem.create({
  name: 'shutdown',
  shards: 2,
  app: new URL('./shutdownApp.ts', import.meta.url),
  shutdownTimeoutMs: stuck ? 1000 : stray ? 20_000 : 10_000,
})
const parents = []
for (const shard of [1, 2]) {
  const parent = await sharded.spawn<ParentProtocol>('Parent', { shard, name: 'parent' })
  if ((await parent.ask('ping')) !== 'pong') throw new Error('no pong')
  parents.push(parent)
}
const hanger = await sharded.spawn<ParentProtocol>('Parent', { shard: 1, name: 'hanger' })
if (stuck) {
  // An ask still pending at shutdown must not hold the process; its handler never settles.
  hanger.askWith({ timeoutMs: 600_000 }, 'never').catch(() => {})
  // Same batch, same shard, handled after it: once this answers, `never` is running.
  await parents[0]?.ask('ping')
}
if (stray) {
  const strayRef = await sharded.spawn<{ ping(): string }>('Stray', { shard: 2, name: 'stray' })
  if ((await strayRef.ask('ping')) !== 'pong') throw new Error('no pong')
}
const started = performance.now()
await sharded.terminate()
process.stderr.write(`terminate took ${Math.round(performance.now() - started)} ms\n`)
process.stdout.write(`terminated states=${[0, 1, 2].map((s) => sharded.state(s)).join(',')}\n`)
