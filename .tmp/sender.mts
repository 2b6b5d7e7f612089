import { Actor, ActorSystem } from '../runtime/index.ts'
import { Remoting } from '../transport/index.ts'
const PAYLOAD = { id: 42, kind: 'reading', value: 21.5 }
let frames = 0, bytes = 0
const transport = { local: { system: 's', node: 'a', shard: 0 }, send(_to: unknown, f: Uint8Array) { frames++; bytes += f.byteLength }, onFrame() {}, onPeerDown() {}, close: async () => {} }
const system = ActorSystem.create({ name: 's', node: 'a' })
new Remoting(system, transport as any)
const target = system.refFor<any>({ system: 's', node: 'a', shard: 1, path: '/user/sink', uid: 1 })
let done: () => void = () => {}
class Sender extends Actor<any> {
  remaining = 0
  run(n: number) { this.remaining = n; this.pump() }
  pump() { let n = Math.min(1024, this.remaining); this.remaining -= n; while (n-- > 0) target.tell('record', PAYLOAD); if (this.remaining > 0) this.self.tell('pump'); else done() }
}
const s = system.spawn(Sender)
for (let r = 0; r < 6; r++) {
  const N = 4_000_000
  const p = new Promise<void>((res) => (done = res))
  const t = performance.now()
  s.tell('run', N)
  await p
  await new Promise((r) => setImmediate(r))
  console.log('sender-only', Math.round(N / ((performance.now() - t) / 1000)), 'msg/s', 'bytes/msg', (bytes / (N * (r + 1))).toFixed(1))
}
await system.terminate()
