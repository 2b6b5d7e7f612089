import { pack, Packr, unpack } from 'msgpackr'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorRef, ActorSystem, Envelope, EnvelopeKind, MalformedFrameError, SequentialIds, type ActorSystemOptions } from '../../../runtime/index.ts'

class Sink extends Actor<{ put(value: unknown): void }> {
  put(_value: unknown) {}
}

const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.terminate()))
})
function newSystem(options: Partial<ActorSystemOptions> = {}): ActorSystem {
  const system = ActorSystem.create({ name: 'bank', node: 'n1', shard: 2, ids: new SequentialIds(299), keepAlive: false, ...options })
  systems.push(system)
  return system
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

/** `troupe://bank@n1:2/user/acct#301` as one msgpack ext value (type 42, ext 8 form: 24 bytes of data). */
const PINNED = 'c7 18 2a  95 a4 62616e6b a2 6e31 02 aa 2f757365722f61636374 cd 012d'

/** ext 8 of type 42 around `dataHex`. */
function ext8(dataHex: string): string {
  const data = fromHex(dataHex)
  return `c7 ${data.length.toString(16).padStart(2, '0')} 2a ${dataHex}`
}

/** A single-envelope frame whose one argument is `ext` (spliced in place of a marker string). */
function tellWithArgument(target: ActorRef<any>, ext: Uint8Array): Uint8Array {
  const address = target.address
  const marker = pack('@@MARKER@@')
  const bytes = pack([EnvelopeKind.Tell, [address.system, address.node, address.shard, address.path, address.uid], null, 1, 0, null, 'put', ['@@MARKER@@']])
  const at = Buffer.from(bytes).indexOf(Buffer.from(marker))
  return new Uint8Array([...bytes.subarray(0, at), ...ext, ...bytes.subarray(at + marker.length)])
}

function reasonOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedFrameError)
    return (error as MalformedFrameError & { data: { reason: string } }).data.reason
  }
  throw new Error('expected a MalformedFrameError')
}

describe('ActorRef msgpack extension (type 42)', () => {
  it('is one ext value whose data is the msgpack address tuple: pinned bytes', () => {
    const ref = newSystem().spawn(Sink, { name: 'acct' })
    expect(ref.address).toEqual({ system: 'bank', node: 'n1', shard: 2, path: '/user/acct', uid: 301 })
    const bytes = pack(ref)
    expect(hex(bytes)).toBe(hex(fromHex(PINNED)))
    // Any msgpack library can read the ext data as a plain array.
    expect(unpack(bytes.subarray(3))).toEqual(['bank', 'n1', 2, '/user/acct', 301])
    // The gateway's plain msgpack writes the same bytes.
    expect(hex(new Packr({ useRecords: false, mapsAsObjects: true }).pack(ref))).toBe(hex(bytes))
  })

  it('round-trips through the codec, alone and inside batch records', () => {
    const system = newSystem()
    const ref = system.spawn(Sink, { name: 'acct' })
    const envelope = new Envelope(EnvelopeKind.Tell, ref, null, 1, 0, null, 'put', [ref, { owner: ref }])
    const [single] = system.codec.decode(system.codec.encode(envelope)).args as [ActorRef<any>]
    expect(single).toBe(ref)
    const [batched] = system.codec.decodeBatch(system.codec.encodeBatch([envelope]))
    expect(batched?.args).toEqual([ref, { owner: ref }])
    expect((batched?.args[1] as { owner: unknown }).owner).toBe(ref)
  })

  it('accepts the address as other msgpack libraries write it (str8, signed and wide integers)', () => {
    const system = newSystem()
    const ref = system.spawn(Sink, { name: 'acct' })
    // str8 system, int8 shard, int64 uid: 95 d9 04 bank a2 n1 d0 02 aa /user/acct d3 00..01 2d
    const data = fromHex('95 d9 04 62616e6b a2 6e31 d0 02 aa 2f757365722f61636374 d3 000000000000012d')
    const ext = new Uint8Array([0xc7, data.length, 0x2a, ...data])
    const [decoded] = system.codec.decode(tellWithArgument(ref, ext)).args
    expect(decoded).toBe(ref)
  })

  it.each([
    ['fixext 1 (the old tag form)', 'd4 2a 00', 'address'],
    ['not an array', 'd6 2a a3 616263', 'address'],
    ['truncated tuple', ext8('95 a4 62616e6b'), 'address'],
    ['string length past the data', ext8('95 db ffffffff 00'), 'address'],
    ['trailing byte after the tuple', ext8('95 a1 73 a1 6e 00 a2 2f61 01 00'), 'address'],
    ['node that is not a subject token', ext8('95 a1 73 a3 612e62 00 a2 2f61 01'), 'node'],
    ['system with a wildcard', ext8('95 a1 2a a1 6e 00 a2 2f61 01'), 'system'],
    ['negative shard', ext8('95 a1 73 a1 6e ff a2 2f61 01'), 'shard'],
    ['path without a leading slash', ext8('95 a1 73 a1 6e 00 a2 6161 01'), 'path'],
    ['uid beyond 2^53', ext8('95 a1 73 a1 6e 00 a2 2f61 cf 0020000000000000'), 'uid'],
    ['invalid UTF-8', ext8('95 a1 ff a1 6e 00 a2 2f61 01'), 'address'],
  ])('refuses %s with a reason', (_what, extHex, reason) => {
    const system = newSystem()
    const ref = system.spawn(Sink, { name: 'acct' })
    expect(reasonOf(() => system.codec.decode(tellWithArgument(ref, fromHex(extHex))))).toBe(reason)
  })

  it('outside a system codec (the gateway) a ref does not decode', () => {
    expect(reasonOf(() => new Packr({ useRecords: false, mapsAsObjects: true }).unpack(fromHex(PINNED)))).toBe('resolver')
  })
})
