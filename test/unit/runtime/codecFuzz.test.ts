import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { afterAll, describe, expect, it } from 'vitest'
import { Actor, ActorRef, ActorSystem, Envelope, EnvelopeKind, MalformedFrameError, MessageTooLargeError, validateMsgpack } from '../../../runtime/index.ts'

/**
 * Hostile bytes into the decoders: every input either decodes to well-formed envelopes (or, for
 * gateway payloads, a value) or throws the typed error; nothing else escapes, and no input takes
 * long. The unit suite runs ~20k inputs; `TROUPE_FUZZ_RUNS=1000000` runs that many per property.
 */
const RUNS = Number(process.env['TROUPE_FUZZ_RUNS'] ?? 0)
const runs = (unitRuns: number): number => (RUNS > 0 ? RUNS : unitRuns)
/** Generous: a decode of a few hundred bytes takes microseconds; the inputs took seconds. */
const MAX_DECODE_MS = 250

class Sink extends Actor<{ put(value: unknown): void }> {
  put(_value: unknown) {}
}

const system = ActorSystem.create({ name: 'fuzz', node: 'n1', keepAlive: false, shardCount: 2 })
afterAll(() => system.terminate())
const refs = ['a', 'b'].map((name) => system.spawn(Sink, { name }))
const gatewayPackr = new Packr({ useRecords: false, mapsAsObjects: true })

const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.date(),
  fc.uint8Array({ maxLength: 6 }),
  fc.constantFrom(...refs),
)
const key = fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__')
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 3 })),
}))
const ref = fc.constantFrom(...refs)
const envelope = fc.oneof(
  fc.tuple(fc.constant(EnvelopeKind.Tell), ref, fc.option(ref, { nil: null }), fc.constant(0), fc.constant('put'), fc.array(value, { maxLength: 2 })),
  fc.tuple(fc.constant(EnvelopeKind.Ask), ref, ref, fc.constant(0), fc.constant('put'), fc.array(value, { maxLength: 2 })),
  fc.tuple(fc.constant(EnvelopeKind.ReplyOk), ref, ref, fc.integer({ min: 1 }), fc.constant('put'), value.map((v) => [v])),
  fc.tuple(fc.constant(EnvelopeKind.System), ref, ref, fc.constant(0), fc.constant('watch'), fc.constant<unknown[]>([])),
)
const headers = fc.option(fc.dictionary(fc.constantFrom('traceparent', 'x-user'), fc.string({ maxLength: 8 })), { nil: null })
const batch = fc.array(fc.tuple(envelope, headers, fc.nat()), { minLength: 1, maxLength: 6 }).map((items) =>
  items.map(([[kind, target, sender, correlationId, method, args], h, id]) => new Envelope(kind, target, sender, id, correlationId, h, method, args)),
)

/** Valid inputs to mutate, drawn once with a fixed seed so the suite is reproducible. */
const validFrames = fc.sample(batch, { numRuns: 40, seed: 10 }).map((envelopes) => system.codec.encodeBatch(envelopes))
/** What other languages send the gateway: plain msgpack (maps, arrays, scalars, binary, timestamps). */
const { payloadValue } = fc.letrec((tie) => ({
  payloadValue: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 6 }), fc.date()),
    fc.array(tie('payloadValue'), { maxLength: 3 }),
    fc.dictionary(key, tie('payloadValue'), { maxKeys: 3 }),
  ),
}))
const validPayloads = fc
  .sample(fc.record({ method: fc.string({ minLength: 1, maxLength: 8 }), args: fc.array(payloadValue, { maxLength: 3 }) }), { numRuns: 40, seed: 11 })
  .map((p) => gatewayPackr.pack(p))

type Mutation =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'length'; at: number; header: number; fill: number }
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  // A length field rewritten: a container/str/bin/ext header claiming far more than is there.
  fc.record({
    op: fc.constant('length' as const),
    at: fc.nat(),
    header: fc.constantFrom(0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0x9f, 0x8f, 0xbf),
    fill: fc.constantFrom(0xff, 0x7f, 0x10, 0x01),
  }),
)

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = Uint8Array.from(input)
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length
    if (m.op === 'flip') bytes[at] = m.byte
    else if (m.op === 'truncate') bytes = bytes.subarray(0, at)
    else if (m.op === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)])
    else {
      const patched = Uint8Array.from(bytes)
      patched[at] = m.header
      for (let i = 1; i <= 4 && at + i < patched.length; i++) patched[at + i] = m.fill
      bytes = patched
    }
  }
  return bytes
}

/** What a delivered envelope must look like, whatever bytes it came from. */
function assertWellFormed(envelope: Envelope): void {
  expect([EnvelopeKind.Tell, EnvelopeKind.Ask, EnvelopeKind.Poison, EnvelopeKind.ReplyOk, EnvelopeKind.ReplyError, EnvelopeKind.System]).toContain(envelope.kind)
  expect(envelope.target).toBeInstanceOf(ActorRef)
  expect(Number.isSafeInteger(envelope.id) && envelope.id >= 0).toBe(true)
  expect(Number.isSafeInteger(envelope.correlationId) && envelope.correlationId >= 0).toBe(true)
  expect(typeof envelope.method).toBe('string')
  expect(Array.isArray(envelope.args)).toBe(true)
  if (envelope.kind === EnvelopeKind.Ask || envelope.kind === EnvelopeKind.System) expect(envelope.sender).toBeInstanceOf(ActorRef)
  if (envelope.kind === EnvelopeKind.ReplyOk || envelope.kind === EnvelopeKind.ReplyError) expect(envelope.correlationId).toBeGreaterThan(0)
  if (envelope.headers !== null) for (const v of Object.values(envelope.headers)) expect(typeof v).toBe('string')
  for (const address of [envelope.target.address, envelope.sender?.address]) {
    if (address === undefined) continue
    expect(address.node).toMatch(/^[^.*>\s]+$/)
    expect(address.system).toMatch(/^[^.*>\s]+$/)
    expect(Number.isSafeInteger(address.shard) && address.shard >= 0).toBe(true)
  }
}

/** Decodes a frame; only ERR_MALFORMED_FRAME (or too large) may be thrown. Returns the reason or 'ok'. */
function decodeFrame(bytes: Uint8Array): string {
  const started = performance.now()
  try {
    const envelopes = system.codec.decodeBatch(bytes)
    for (const e of envelopes) assertWellFormed(e)
    return 'ok'
  } catch (error) {
    if (error instanceof MalformedFrameError || error instanceof MessageTooLargeError) return String((error as { data?: { reason?: string } }).data?.reason)
    throw error
  } finally {
    expect(performance.now() - started).toBeLessThan(MAX_DECODE_MS)
  }
}

/** The gateway's path: scan, then msgpackr. A ref cannot resolve there (ERR_MALFORMED_FRAME, reason `resolver`). */
function decodePayload(bytes: Uint8Array): string {
  const started = performance.now()
  try {
    const steps = validateMsgpack(bytes, { dialect: 'plain' })
    expect(steps).toBeLessThanOrEqual(bytes.length)
    gatewayPackr.unpack(bytes)
    return 'ok'
  } catch (error) {
    if (error instanceof MalformedFrameError) return 'malformed'
    throw error
  } finally {
    expect(performance.now() - started).toBeLessThan(MAX_DECODE_MS)
  }
}

describe('decoders under hostile bytes (fast-check)', () => {
  it('valid frames and payloads are accepted (the mutation bases)', () => {
    for (const frame of validFrames) expect(decodeFrame(frame)).toBe('ok')
    for (const payload of validPayloads) expect(decodePayload(payload)).toBe('ok')
  })

  it('arbitrary bytes as a frame (binary and legacy paths)', () => {
    const preamble = fc.constantFrom(new Uint8Array(0), Uint8Array.from([0xc1, 3, 0, 0, 1, 0, 0, 0]), Uint8Array.from([0x91]))
    fc.assert(
      fc.property(preamble, fc.uint8Array({ maxLength: 120 }), (head, body) => {
        decodeFrame(Uint8Array.from([...head, ...body]))
      }),
      { numRuns: runs(4000) },
    )
  })

  it('mutations of valid frames: flips, truncations, insertions, length-field rewrites', () => {
    fc.assert(
      fc.property(fc.nat(validFrames.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (index, mutations) => {
        decodeFrame(mutate(validFrames[index] as Uint8Array, mutations))
      }),
      { numRuns: runs(7000) },
    )
  })

  it('arbitrary bytes as a gateway msgpack payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        decodePayload(bytes)
      }),
      { numRuns: runs(3000) },
    )
  })

  it('mutations of valid gateway payloads', () => {
    fc.assert(
      fc.property(fc.nat(validPayloads.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), (index, mutations) => {
        decodePayload(mutate(validPayloads[index] as Uint8Array, mutations))
      }),
      { numRuns: runs(6000) },
    )
  })
})
