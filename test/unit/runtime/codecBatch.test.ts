import { Packr } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, Envelope, EnvelopeKind, MalformedFrameError, Rejection, defineRejection } from '../../../runtime/index.ts'

class Sink extends Actor<{ put(value: unknown): void }> {
  put(_value: unknown) {}
}

const Refused = defineRejection('ERR_TEST_BATCH_REFUSED', 'Refused')
const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

describe('Codec batches (compact frames)', () => {
  it('round-trips a batch: shared address and method tables, refs in payloads, reply errors, headers', () => {
    const system = ActorSystem.create({ name: 'batch' })
    systems.push(system)
    const a = system.spawn(Sink, { name: 'a' })
    const b = system.spawn(Sink, { name: 'b' })
    const envelopes = [
      ...Array.from({ length: 100 }, (_, i) => new Envelope(EnvelopeKind.Tell, a, b, i + 1, 0, null, 'put', [{ id: i, kind: 'reading', value: i / 2, owner: b }])),
      new Envelope(EnvelopeKind.Ask, b, null, 500, 0, { traceparent: '00-abc-def-01' }, 'put', [[1, 'two', null]]),
      new Envelope(EnvelopeKind.ReplyError, a, b, 501, 500, null, 'put', [new Refused('no', { data: { why: 1 } })]),
    ]
    const codec = system.codec
    const bytes = codec.encodeBatch(envelopes)
    const decoded = codec.decodeBatch(bytes)
    expect(decoded).toHaveLength(102)
    expect(decoded[7]?.target.cell).toBe(a.cell)
    expect(decoded[7]?.sender?.cell).toBe(b.cell)
    expect(decoded[7]?.args).toEqual([{ id: 7, kind: 'reading', value: 3.5, owner: b }])
    expect((decoded[7]?.args[0] as { owner: unknown }).owner).toBe(b)
    expect(decoded[100]).toMatchObject({ kind: EnvelopeKind.Ask, sender: null, id: 500, headers: { traceparent: '00-abc-def-01' }, args: [[1, 'two', null]] })
    const replyError = decoded[101]?.args[0]
    expect(replyError).toBeInstanceOf(Refused)
    expect(replyError).toBeInstanceOf(Rejection)
    // Tables make a batch much smaller than one tuple per envelope.
    const perEnvelope = envelopes.reduce((sum, e) => sum + codec.encode(e).byteLength, 0)
    expect(bytes.byteLength).toBeLessThan(perEnvelope / 2)
  })

  it('refuses malformed compact frames with ERR_MALFORMED_FRAME', () => {
    const system = ActorSystem.create({ name: 'batch-bad' })
    systems.push(system)
    const packr = new Packr({ useRecords: false })
    const bad = [
      [2, [], []],
      [2, [], ['put'], [0, 5, -1, 1, 0, null, 0, []]],
      [2, [['batch-bad', 'local', 0, '/user/x', 1]], ['put'], [9, 0, -1, 1, 0, null, 0, []]],
      [2, [['batch-bad', 'local', 0, '/user/x', 1]], ['put'], [0, 0, -1, 1, 0, null, 3, []]],
      [2, [['x']], [], []],
    ]
    for (const frame of bad) {
      expect(() => system.codec.decodeBatch(packr.pack(frame))).toThrow(MalformedFrameError)
    }
  })
})
