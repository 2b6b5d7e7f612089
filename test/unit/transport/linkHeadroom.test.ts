/**
 * The NATS link header written into the room the codec leaves in front of a frame (issue 11's ask
 * p50 lever): the same bytes as the copying path, the frame itself not copied, and never written
 * into a buffer the frame does not own.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ActorSystem, Envelope, EnvelopeKind } from '../../../runtime/index.ts'
import { DATA_FIXED_BYTES, dataFrame, dataPrefix, nodeBytes, readDataHeader } from '../../../transport/nats/LinkFrames.ts'

function frameFrom(system: ActorSystem, text: string): Uint8Array {
  const target = system.refFor({ system: 's', node: 'peer', shard: 1, path: '/user/x', uid: 7 })
  return system.codec.encodeBatch([new Envelope(EnvelopeKind.Tell, target, null, 1, 0, null, 'm', [text])])
}

describe('link header in the codec headroom', () => {
  it('writes the header in place when the codec left exactly its room, with the bytes the copying path gives', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 31 }), (text, seq, epoch) => {
        const system = ActorSystem.create({ name: 's', node: 'sender-node', keepAlive: false })
        const room = DATA_FIXED_BYTES + nodeBytes('sender-node').byteLength
        const plain = frameFrom(system, text)
        system.codec.reserveFrameHeadroom(room)
        const roomy = frameFrom(system, text)
        expect(roomy.byteOffset).toBe(room)
        expect([...roomy]).toEqual([...plain])
        const prefix = dataPrefix('sender-node', 3, 99, epoch)
        const copied = dataFrame(prefix, seq, plain)
        const inPlace = dataFrame(prefix, seq, roomy)
        // No copy: the link frame is a view of the codec's own buffer.
        expect(inPlace.buffer).toBe(roomy.buffer)
        expect(copied.buffer).not.toBe(plain.buffer)
        expect([...inPlace]).toEqual([...copied])
        const header = readDataHeader(inPlace)
        expect(header).toMatchObject({ node: 'sender-node', shard: 3, session: 99, epoch, seq, bodyOffset: room })
        // A resend with another sequence number rewrites only the header.
        const again = dataFrame(prefix, seq + 1, roomy)
        expect(readDataHeader(again)?.seq).toBe(seq + 1)
        expect([...again.subarray(room)]).toEqual([...plain])
      }),
      { numRuns: 50 },
    )
  })

  it('copies when the room is not exactly the header (another node name, or a frame inside a larger buffer)', () => {
    const system = ActorSystem.create({ name: 's', node: 'n', keepAlive: false })
    system.codec.reserveFrameHeadroom(DATA_FIXED_BYTES + 40)
    const frame = frameFrom(system, 'hi')
    const before = [...new Uint8Array(frame.buffer, 0, frame.byteOffset)]
    const out = dataFrame(dataPrefix('n', 0, 1, 1), 5, frame)
    expect(out.buffer).not.toBe(frame.buffer)
    expect([...new Uint8Array(frame.buffer, 0, frame.byteOffset)]).toEqual(before)
    // A view in the middle of someone else's bytes: they stay untouched.
    const shared = new Uint8Array(64).fill(9)
    const body = shared.subarray(DATA_FIXED_BYTES + 1, 40)
    dataFrame(dataPrefix('n', 0, 1, 1), 5, body)
    expect([...shared]).toEqual(new Array(64).fill(9))
  })

  it('refuses a headroom outside 0..512 bytes with ERR_INVALID_ARGUMENT', () => {
    const system = ActorSystem.create({ name: 's', keepAlive: false })
    expect(() => system.codec.reserveFrameHeadroom(513)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    expect(() => system.codec.reserveFrameHeadroom(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
  })
})
