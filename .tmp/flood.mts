import { ShardedSystem } from '../transport/index.ts'
import { FloodWatcher, Recorder } from '../test/unit/transport/shards/testApp.ts'
const app = new URL('../test/unit/transport/shards/testApp.ts', import.meta.url)
const system = await ShardedSystem.create({ name: 'bp-watch', shards: 2, app, ringBytes: 4096, maxOutboxBytes: 16 * 1024 })
const sink = await system.spawn(Recorder, { shard: 2, args: [100] })
const watched = await system.spawn(FloodWatcher, { shard: 2 })
const flooder = await system.spawn(FloodWatcher, { shard: 1 })
const p = flooder.askWith({ timeoutMs: 5000 }, 'floodThenWatch', sink, watched).then((n) => console.log('sent', n), (e) => console.log('err', e.code))
for (let i = 0; i < 4; i++) {
  await new Promise((r) => setTimeout(r, 500))
  const st = (await system.stats()).shards.find((s) => s.shard === 1)
  console.log(JSON.stringify({ q: st?.transport.queuedBytes, full: st?.transport.outboxFull, envOut: st?.remoting.envelopesOut, und: st?.remoting.undeliverable, dl: st?.deadLetters }))
}
await p
await system.terminate()
