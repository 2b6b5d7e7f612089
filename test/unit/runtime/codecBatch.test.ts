import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, Envelope, EnvelopeKind, MalformedFrameError, MessageTooLargeError, Rejection, defineRejection } from '../../../runtime/index.ts'

class Sink extends Actor<{ put(value: unknown): void }> {
  put(_value: unknown) {}
}

const Refused = defineRejection('ERR_TEST_BATCH_REFUSED', 'Refused')
const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})

describe('Codec batches (binary frames)', () => {
  it('round-trips a batch: shared address and method tables, refs in payloads, reply errors, headers', () => {
    const system = ActorSystem.create({ name: 'batch' })
    systems.push(system)
    const a = system.spawn(Sink, { name: 'a' })
    const b = system.spawn(Sink, { name: 'b' })
    const envelopes = [
      ...Array.from({ length: 100 }, (_, i) => new Envelope(EnvelopeKind.Tell, a, b, i + 1, 0, null, 'put', [{ id: i, kind: 'reading', value: i / 2, owner: b }])),
      new Envelope(EnvelopeKind.Tell, b, null, 500, 0, { traceparent: '00-abc-def-01' }, 'put', [[1, 'two', null]]),
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
    expect(decoded[100]).toMatchObject({ kind: EnvelopeKind.Tell, sender: null, id: 500, headers: { traceparent: '00-abc-def-01' }, args: [[1, 'two', null]] })
    const replyError = decoded[101]?.args[0]
    expect(replyError).toBeInstanceOf(Refused)
    expect(replyError).toBeInstanceOf(Rejection)
    // Tables and the binary block make a batch smaller than one tuple per envelope, even with a
    // ref (an address tuple) inside every payload.
    const perEnvelope = envelopes.reduce((sum, e) => sum + codec.encode(e).byteLength, 0)
    expect(bytes.byteLength).toBeLessThan(perEnvelope * 0.6)
  })

  it('refuses a batch with more distinct addresses than its u16 tables hold as too large (Remoting splits such a batch)', () => {
    const system = ActorSystem.create({ name: 'batch-wide', maxMessageBytes: 64 * 1024 * 1024 })
    systems.push(system)
    const targets = Array.from({ length: 0x10000 }, () => system.spawn(Sink))
    const envelopes = targets.map((target, i) => new Envelope(EnvelopeKind.Tell, target, null, i + 1, 0, null, 'put', []))
    expect(() => system.codec.encodeBatch(envelopes)).toThrow(MessageTooLargeError)
    expect(() => system.codec.encodeBatch(envelopes)).toThrow(/distinct addresses/)
    expect(system.codec.decodeBatch(system.codec.encodeBatch(envelopes.slice(0, 0xffff)))).toHaveLength(0xffff)
  })

  it('refuses malformed binary batch frames with ERR_MALFORMED_FRAME', () => {
    const system = ActorSystem.create({ name: 'batch-bad' })
    systems.push(system)
    const a = system.spawn(Sink, { name: 'a' })
    const valid = system.codec.encodeBatch([new Envelope(EnvelopeKind.Tell, a, a, 1, 0, null, 'put', [1])])
    const packr = new Packr({ useRecords: false })
    const address = ['batch-bad', 'local', 0, '/user/a', a.address.uid]
    /** A one-envelope frame with the given fixed fields and tables. */
    const frame = (fixed: { kind?: number; flags?: number; method?: number; target?: number; sender?: number }, tables: unknown): Uint8Array => {
      const tail = packr.pack(tables)
      const bytes = new Uint8Array(8 + 24 + tail.byteLength)
      const view = new DataView(bytes.buffer)
      view.setUint8(0, 0xc1)
      view.setUint8(1, 3)
      view.setUint32(4, 1, true)
      view.setUint8(8, fixed.kind ?? EnvelopeKind.Tell)
      view.setUint8(9, fixed.flags ?? 0)
      view.setUint16(10, fixed.method ?? 0, true)
      view.setUint16(12, fixed.target ?? 0, true)
      view.setUint16(14, fixed.sender ?? 0, true)
      bytes.set(tail, 32)
      return bytes
    }
    const tables = [[address], ['put'], [], [[1]]]
    expect(system.codec.decodeBatch(frame({}, tables))[0]).toMatchObject({ kind: EnvelopeKind.Tell, method: 'put', args: [1] })
    // Flag 4: the entry is the one argument itself (here an array).
    expect(system.codec.decodeBatch(frame({ flags: 4 }, tables))[0]?.args).toEqual([[1]])
    const bad: Uint8Array[] = [
      valid.subarray(0, 6), // cut inside the preamble
      valid.subarray(0, 20), // cut inside the fixed block
      valid.subarray(0, valid.byteLength - 2), // cut inside the tables
      Uint8Array.from([0xc1, 9, 0, 0, 0, 0, 0, 0]), // unknown version
      frame({ kind: 99 }, tables), // unknown kind
      frame({ kind: EnvelopeKind.Timer }, tables), // timers never cross
      frame({ target: 5 }, tables), // target index outside the table
      frame({ flags: 1, sender: 3 }, tables), // sender index outside the table
      frame({ method: 2 }, tables), // method index outside the table
      frame({ flags: 2 }, tables), // headers flagged, none in the table
      frame({ flags: 2 }, [[address], ['put'], [['not', 'a', 'map']], [[1]]]), // headers not a map
      frame({}, [[address], ['put'], [], []]), // args list shorter than the count
      frame({}, [[address], ['put'], [], ['not args']]), // args not an array
      frame({}, [[['x']], ['put'], [], [[1]]]), // malformed address
      frame({}, [[address], [42], [], [[1]]]), // method not a string
      frame({}, { not: 'tables' }),
      frame({ kind: EnvelopeKind.ReplyError }, [[address], ['put'], [], [[null]]]), // a reply-error without an error
      frame({ kind: EnvelopeKind.ReplyError, flags: 4 }, [[address], ['put'], [], [{ code: 42 }]]), // an error without a string code
    ]
    for (const bytes of bad) {
      let thrown: unknown
      try {
        system.codec.decodeBatch(bytes)
      } catch (error) {
        thrown = error
      }
      expect(thrown, Buffer.from(bytes).toString('hex')).toBeInstanceOf(MalformedFrameError)
      expect(thrown).toMatchObject({ code: 'ERR_MALFORMED_FRAME' })
    }
  })

  it('property: any batch of envelopes with plain-data payloads decodes to the same envelopes', () => {
    const system = ActorSystem.create({ name: 'batch-prop' })
    systems.push(system)
    const refs = ['a', 'b', 'c'].map((name) => system.spawn(Sink, { name }))
    // Plain data as it crosses a boundary. msgpack has no negative zero integer: -0 arrives as 0 (as in JSON).
    const leaf = fc.oneof(
      fc.integer(),
      fc.double().map((x) => (Object.is(x, -0) ? 0 : x)),
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.date({ noInvalidDate: true }),
      fc.uint8Array({ maxLength: 8 }),
      fc.constantFrom(...refs),
    )
    const key = fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__')
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4 })),
    }))
    // Well-formed envelopes: each kind with the fields the receiving side requires of it.
    const ref = fc.constantFrom(...refs)
    const headers = fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'), fc.string()), { nil: null })
    const method = fc.constantFrom('put', 'get', 'a-much-longer-method-name')
    const args = fc.array(value, { maxLength: 3 })
    const envelope = fc.oneof(
      fc.record({ kind: fc.constant(EnvelopeKind.Tell), target: ref, sender: fc.option(ref, { nil: null }), id: fc.nat(), correlationId: fc.constant(0), headers, method, args }),
      fc.record({ kind: fc.constant(EnvelopeKind.Ask), target: ref, sender: ref, id: fc.nat(), correlationId: fc.constant(0), headers, method, args }),
      fc.record({ kind: fc.constant(EnvelopeKind.ReplyOk), target: ref, sender: fc.option(ref, { nil: null }), id: fc.nat(), correlationId: fc.integer({ min: 1 }), headers, method, args: value.map((v) => [v]) }),
      fc.record({ kind: fc.constant(EnvelopeKind.Poison), target: ref, sender: fc.option(ref, { nil: null }), id: fc.nat(), correlationId: fc.constant(0), headers, method: fc.constant(''), args: fc.constant<unknown[]>([]) }),
      fc.record({
        kind: fc.constant(EnvelopeKind.System),
        target: ref,
        sender: ref,
        id: fc.nat(),
        correlationId: fc.constant(0),
        headers: fc.constant(null),
        method: fc.constantFrom('watch', 'unwatch'),
        args: fc.constant<unknown[]>([]),
      }),
    )
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 40 }), (records) => {
        const envelopes = records.map((r) => new Envelope(r.kind, r.target, r.sender, r.id, r.correlationId, r.headers, r.method, r.args))
        const decoded = system.codec.decodeBatch(system.codec.encodeBatch(envelopes))
        expect(decoded.map(plain)).toEqual(envelopes.map(plain))
      }),
      { numRuns: 300 },
    )
  })
})

/** The fields of an envelope that travel (refs compared by the cells they resolve to). */
function plain(envelope: Envelope): unknown {
  return {
    kind: envelope.kind,
    target: envelope.target.cell,
    sender: envelope.sender?.cell ?? null,
    id: envelope.id,
    correlationId: envelope.correlationId,
    headers: envelope.headers,
    method: envelope.method,
    args: envelope.args,
  }
}
