import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TransportFullError } from '../../../transport/index.ts'
import { VirtualClock } from '../../../testing/index.ts'
import { ACK_RESET, ackBytes, dataFrame, dataPrefix, nodeBytes, readAck, readDataHeader } from '../../../transport/nats/LinkFrames.ts'
import { LinkReceiver } from '../../../transport/nats/LinkReceiver.ts'
import { LinkSender } from '../../../transport/nats/LinkSender.ts'
import { newNatsTransportStats } from '../../../transport/nats/NatsTransportOptions.ts'

describe('link frames', () => {
  it('round-trip a data header and an ack', () => {
    const wire = dataFrame(dataPrefix('node-1', 3, 77, 2), 41, new Uint8Array([0xc1, 9, 9]))
    expect(readDataHeader(wire)).toEqual({ node: 'node-1', shard: 3, session: 77, epoch: 2, seq: 41, bodyOffset: 27 })
    expect([...wire.subarray(27)]).toEqual([0xc1, 9, 9])
    const ack = ackBytes(nodeBytes('b'), 1, 5, 77, 2, 41, 1 << 20, 2)
    expect(readAck(ack)).toEqual({ node: 'b', shard: 1, receiverSession: 5, senderSession: 77, epoch: 2, delivered: 41, credit: 1 << 20, flags: 2 })
  })

  it('refuse anything malformed without throwing: wrong marker, version, zero session, seq 0 or fractional, bad node, lengths past the end', () => {
    const good = dataFrame(dataPrefix('a', 0, 1, 1), 1, new Uint8Array([0xc1]))
    const mutate = (at: number, value: number): Uint8Array => {
      const copy = good.slice()
      copy[at] = value
      return copy
    }
    expect(readDataHeader(mutate(0, 0xc1))).toBeNull()
    expect(readDataHeader(mutate(1, 2))).toBeNull()
    expect(readDataHeader(mutate(4, 0))).toBeNull() // session 0
    expect(readDataHeader(mutate(20, 200))).toBeNull() // node length past the end
    expect(readDataHeader(mutate(21, 0x2e))).toBeNull() // node '.'
    const fractional = good.slice()
    new DataView(fractional.buffer).setFloat64(12, 1.5, true)
    expect(readDataHeader(fractional)).toBeNull()
    const ack = ackBytes(nodeBytes('b'), 0, 1, 1, 1, 0, 0, 0)
    expect(readAck(ack.subarray(0, ack.byteLength - 1))).toBeNull()
    const flagged = ack.slice()
    flagged[32] = 8
    expect(readAck(flagged)).toBeNull()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(() => readDataHeader(bytes)).not.toThrow()
        expect(() => readAck(bytes)).not.toThrow()
      }),
    )
  })
})

/** A sender and a receiver joined by a wire that the test loses, duplicates and delivers at will. */
function link(options: { window?: number; maxFrames?: number } = {}) {
  const clock = new VirtualClock()
  const stats = newNatsTransportStats()
  const wire: Uint8Array[] = []
  const acks: Uint8Array[] = []
  const delivered: number[] = []
  const returned: [number, string][] = []
  let linkUp = true
  const to = { system: 's', node: 'b', shard: 0 }
  const sender = new LinkSender({
    node: 'a',
    shard: 0,
    session: 11,
    clock,
    stats,
    maxFrames: options.maxFrames ?? 10_000,
    maxBytes: 1 << 30,
    maxQueuedBytesPerPeer: 1 << 30,
    ackTimeoutMs: 1000,
    publish: (_subject, bytes) => {
      if (!linkUp) throw new Error('down')
      wire.push(bytes)
    },
    canSend: () => linkUp,
    refusal: (_to, detail) => new TransportFullError(detail),
    undelivered: (_to, frame, error) => returned.push([frame[0] as number, (error as { code?: string }).code ?? error.message]),
  })
  const receiver = new LinkReceiver({ node: 'b', shard: 0, session: 22, windowBytes: options.window ?? 1 << 20, ackDelayMs: 5, clock, stats, publishAck: (_n, _s, bytes) => acks.push(bytes) })
  const deliverWire = (keep: (i: number) => 0 | 1 | 2 = () => 1): void => {
    const batch = wire.splice(0)
    batch.forEach((bytes, i) => {
      for (let copies = keep(i); copies > 0; copies--) {
        const header = readDataHeader(bytes)
        if (header === null) throw new Error('bad frame on the wire')
        const stream = receiver.accept(header)
        if (stream === null) continue
        const body = bytes.subarray(header.bodyOffset)
        delivered.push(body[0] as number)
        receiver.consumed(stream, body.byteLength, false)
      }
    })
  }
  const deliverAcks = (): void => {
    receiver.flush()
    for (const bytes of acks.splice(0)) sender.onAck(readAck(bytes) as NonNullable<ReturnType<typeof readAck>>)
  }
  const send = (id: number): void => sender.send(to, 'subject', new Uint8Array([id, 0, 0, 0]), false)
  return { clock, stats, wire, delivered, returned, sender, receiver, deliverWire, deliverAcks, send, setLink: (up: boolean) => void (linkUp = up) }
}

describe('link sender and receiver', () => {
  it('over a wire that loses and duplicates frames, every frame is delivered once, in order, after resends', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<0 | 1 | 2>(0, 1, 1, 1, 2), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 120 }), (fates, count) => {
        const l = link()
        for (let id = 0; id < count; id++) l.send(id)
        let round = 0
        while (l.delivered.length < count && round < 50) {
          // The wire misbehaves for a while, then heals.
          l.deliverWire((i) => (round < 10 ? (fates[(i + round * 7) % fates.length] as 0 | 1 | 2) : 1))
          l.deliverAcks()
          l.clock.advance(1000)
          l.sender.tick()
          round++
        }
        expect(l.delivered).toEqual(Array.from({ length: count }, (_, i) => i))
        l.deliverWire()
        l.deliverAcks()
        expect(l.sender.retained).toBe(0)
      }),
      { numRuns: 200 },
    )
  })

  it('frames sent while the link is down wait, and go out in order when it is back', () => {
    const l = link()
    l.send(0)
    l.setLink(false)
    l.send(1)
    l.send(2)
    expect(l.stats.framesBuffered).toBe(2)
    expect(l.stats.framesUnacked).toBe(1)
    l.wire.splice(0) // frame 0 died with the server
    l.setLink(true)
    l.sender.resume(null)
    l.deliverWire()
    l.deliverAcks()
    expect(l.delivered).toEqual([0, 1, 2])
    expect(l.sender.retained).toBe(0)
  })

  it('credit: past the window frames wait for the receiver to release what it holds', () => {
    const l = link({ window: 8 })
    // The opening credit is 1 MiB (4-byte frames: all would fit); the first ack brings it down to the window.
    l.send(0)
    l.deliverWire()
    l.deliverAcks()
    for (let id = 1; id < 10; id++) l.send(id)
    // The ack granted released (4) + window (8) = 12 bytes, 4 of them used: frames 1 and 2 go, the rest wait.
    expect(l.wire.length).toBe(2)
    expect(l.stats.framesBuffered).toBe(7)
    l.deliverWire()
    l.deliverAcks()
    expect(l.wire.length).toBe(2)
    l.deliverWire()
    l.deliverAcks()
    expect(l.delivered).toEqual([0, 1, 2, 3, 4])
    expect(l.wire.length).toBe(2)
    expect(l.stats.framesBuffered).toBe(3)
  })

  it('a peer declared down gets its retained frames back as undeliverable, and a new epoch starts at 1', () => {
    const l = link()
    l.send(0)
    l.setLink(false)
    l.send(1)
    l.sender.fail('b', null, Object.assign(new Error('down'), { code: 'ERR_NODE_DOWN' }))
    expect(l.returned).toEqual([
      [0, 'ERR_NODE_DOWN'],
      [1, 'ERR_NODE_DOWN'],
    ])
    expect(l.sender.retained).toBe(0)
    l.setLink(true)
    l.wire.splice(0)
    l.send(2)
    expect(readDataHeader(l.wire[0] as Uint8Array)).toMatchObject({ epoch: 2, seq: 1 })
  })

  it('the retention bound refuses a send at the call; a death-watch frame may use twice the bound', () => {
    const l = link({ maxFrames: 2 })
    l.setLink(false)
    l.send(0)
    l.send(1)
    expect(() => l.send(2)).toThrow(TransportFullError)
    expect(() => l.sender.send({ system: 's', node: 'b', shard: 0 }, 'subject', new Uint8Array([3]), true)).not.toThrow()
  })
})

describe('link receiver: state per sender is bounded', () => {
  it('100 000 frames from invented senders leave at most maxSenders tracked; a real sender still gets through', () => {
    const l = link()
    const acks: string[] = []
    let resets = 0
    const receiver = new LinkReceiver({
      node: 'b',
      shard: 0,
      session: 22,
      windowBytes: 1 << 20,
      ackDelayMs: 5,
      clock: l.clock,
      stats: l.stats,
      maxSenders: 4096,
      publishAck: (node, _shard, bytes) => {
        acks.push(node)
        if (((readAck(bytes)?.flags ?? 0) & ACK_RESET) !== 0) resets++
      },
    })
    const header = (node: string, seq: number) => ({ node, shard: 0, session: 7, epoch: 1, seq, bodyOffset: 0 })
    for (let i = 0; i < 100_000; i++) {
      // A third begin a stream, a third claim its middle (a reset each), a third are far-off sequence numbers.
      receiver.accept(header(`fake${i}`, i % 3 === 0 ? 1 : i % 3 === 1 ? 2 : 1000 + i))
      if (i % 10_000 === 0) l.clock.advance(10)
    }
    expect(receiver.trackedSenders).toBeLessThanOrEqual(4096)
    expect(receiver.trackedResets).toBeLessThanOrEqual(4096)
    // Within one ack batch (no time passes), new senders past the bound are dropped and counted:
    // once the batch went out, 4096 make room by evicting acknowledged ones, the rest are refused.
    l.clock.advance(10)
    for (let i = 0; i < 5000; i++) receiver.accept(header(`burst${i}`, 1))
    expect(receiver.trackedSenders).toBeLessThanOrEqual(4096)
    expect(l.stats.sendersRefused).toBe(5000 - 4096)
    // Reset acks past the bound are rate-limited: far fewer than the 66 666 frames that asked for one.
    expect(resets).toBeLessThan(20_000)

    // Once the ack batch goes out, a legitimate sender gets a stream (the least recently acked invented one makes room).
    l.clock.advance(10)
    receiver.flush()
    acks.length = 0
    const first = receiver.accept(header('real', 1))
    expect(first).not.toBeNull()
    expect(receiver.accept(header('real', 2))).toBe(first)
    expect(receiver.trackedSenders).toBeLessThanOrEqual(4096)
    receiver.flush()
    expect(acks).toEqual(['real'])

    // The transport forgets a node declared down: its entry goes, and its old frames get a reset.
    receiver.forget('real')
    expect(receiver.accept(header('real', 3))).toBeNull()
  })

  it('a frame dropped for its sequence leaves no stream entry', () => {
    const l = link()
    for (let i = 0; i < 1000; i++) l.receiver.accept({ node: `n${i}`, shard: 0, session: 7, epoch: 1, seq: 5, bodyOffset: 0 })
    expect(l.receiver.trackedSenders).toBe(0)
  })
})
