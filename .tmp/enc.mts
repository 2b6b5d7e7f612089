import { Actor, ActorSystem, Envelope, EnvelopeKind } from '../runtime/index.ts'
class Sink extends Actor<any> { record() {} }
const system = ActorSystem.create({ name: 'enc' })
const a = system.spawn(Sink), b = system.spawn(Sink)
const PAYLOAD = { id: 42, kind: 'reading', value: 21.5 }
for (const [name, mk] of [['empty', () => []], ['payload', () => [PAYLOAD]], ['num', () => [42]]] as const) {
  const envs = Array.from({ length: 1024 }, (_, i) => new Envelope(EnvelopeKind.Tell, b, a, i + 1, 0, null, 'record', mk() as unknown[]))
  const frame = system.codec.encodeBatch(envs)
  for (let round = 0; round < 3; round++) {
    let t = performance.now()
    for (let i = 0; i < 2000; i++) system.codec.encodeBatch(envs)
    const enc = (performance.now() - t) * 1e6 / 2048000
    t = performance.now()
    for (let i = 0; i < 2000; i++) system.codec.decodeBatch(frame)
    const dec = (performance.now() - t) * 1e6 / 2048000
    if (round === 2) console.log(name, 'encode ns/env', enc.toFixed(1), 'decode', dec.toFixed(1), 'bytes/env', (frame.byteLength / 1024).toFixed(1))
  }
}
await system.terminate()
