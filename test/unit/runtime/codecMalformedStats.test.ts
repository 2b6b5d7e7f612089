import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, Envelope, EnvelopeKind } from '../../../runtime/index.ts'
import { Remoting, type FrameTransport } from '../../../transport/index.ts'
import { VirtualClock } from '../../../testing/index.ts'
import { recordingLogger } from '../../support/recordingLogger.ts'

class Sink extends Actor<{ put(value: unknown): void }> {
  put(value: unknown) {
    received.push(value)
  }
}
const received: unknown[] = []

/** A transport whose inbound frames the test hands in. */
function stubTransport(): FrameTransport & { deliver(frame: Uint8Array): void } {
  let handler: (frame: Uint8Array) => void = () => {}
  return {
    local: { system: 'stats', node: 'n1', shard: 0 },
    send() {},
    onFrame(h) {
      handler = h
    },
    onPeerDown() {},
    close: async () => {},
    deliver(frame) {
      handler(frame)
    },
  }
}


const systems: ActorSystem[] = []
afterEach(async () => {
  received.length = 0
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

describe('Remoting: malformed frames are counted by reason and logged rate-limited', () => {
  it('drops a bad frame whole, counts it by reason, and warns once per reason per 10 s with the suppressed count', async () => {
    const clock = new VirtualClock()
    const { logger, lines } = recordingLogger()
    const system = ActorSystem.create({ name: 'stats', node: 'n1', clock, keepAlive: false, logger })
    systems.push(system)
    const transport = stubTransport()
    const remoting = new Remoting(system, transport)
    const sink = system.spawn(Sink, { name: 'sink' })
    const good = system.codec.encodeBatch([new Envelope(EnvelopeKind.Tell, sink, null, 1, 0, null, 'put', ['ok'])])
    // Two good envelopes and a third with a NaN id: nothing of the frame may be delivered.
    const bad = system.codec.encodeBatch([1, 2, 3].map((i) => new Envelope(EnvelopeKind.Tell, sink, null, i, 0, null, 'put', [i])))
    new DataView(bad.buffer, bad.byteOffset).setFloat64(8 + 48 + 8, Number.NaN, true)
    const bomb = Uint8Array.from([0xc1, 3, 0, 0, 0, 0, 0, 0, 0xdd, 0xff, 0xff, 0xff, 0xff])

    for (let i = 0; i < 5; i++) transport.deliver(bad)
    transport.deliver(bomb)
    transport.deliver(good)
    await system.spawn(Sink).ask('put', 'flush')
    expect(received).toEqual(['ok', 'flush'])
    expect(remoting.stats.malformedFrames).toBe(6)
    expect(remoting.stats.malformedByReason).toEqual({ id: 5, length: 1 })
    expect(lines.map((l) => [l.message, l.fields['reason'], l.fields['suppressed']])).toEqual([
      ['malformed frame dropped', 'id', 0],
      ['malformed frame dropped', 'length', 0],
    ])

    clock.advance(10_000)
    transport.deliver(bad)
    expect(lines.at(-1)?.fields).toMatchObject({ reason: 'id', suppressed: 4 })
    expect(lines).toHaveLength(3)
  })
})
