import { Actor, ActorSystem, Envelope, EnvelopeKind } from '../runtime/index.ts'
class Sink extends Actor<any> { record() {} }
const system = ActorSystem.create({ name: 'enc' })
const a = system.spawn(Sink), b = system.spawn(Sink)
const PAYLOAD = { id: 42, kind: 'reading', value: 21.5 }
for (const [name, mk] of [['payload', () => [PAYLOAD]], ['num', () => [42]], ['two', () => [1, 'x']]] as const) {
  const envs = Array.from({ length: 1024 }, (_, i) => new Envelope(EnvelopeKind.Tell, b, a, i + 1, 0, null, 'record', mk() as unknown[]))
  const frame = system.codec.encodeBatch(envs)
  const res: string[] = []
  for (let round = 0; round < 7; round++) {
    let t = performance.now()
    for (let i = 0; i < 2000; i++) system.codec.encodeBatch(envs)
    const enc = (performance.now() - t) * 1e6 / 2048000
    t = performance.now()
    for (let i = 0; i < 2000; i++) system.codec.decodeBatch(frame)
    const dec = (performance.now() - t) * 1e6 / 2048000
    if (round >= 4) res.push(`${enc.toFixed(1)}/${dec.toFixed(1)}`)
  }
  console.log(name, 'encode/decode ns/env', res.join(' '), 'bytes/env', (frame.byteLength / 1024).toFixed(1))
}
await system.terminate()
