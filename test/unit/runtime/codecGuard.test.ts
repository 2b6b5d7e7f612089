import { Packr, pack } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { MalformedFrameError, validateMsgpack, type MsgpackGuardOptions } from '../../../runtime/index.ts'

/** The dialect batch frames use, as the Codec configures msgpackr. */
const records = new Packr({ useRecords: true, maxSharedStructures: 0, moreTypes: true })
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

function reasonOf(bytes: Uint8Array, options: MsgpackGuardOptions = {}): string {
  try {
    validateMsgpack(bytes, options)
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedFrameError)
    expect(error).toMatchObject({ code: 'ERR_MALFORMED_FRAME' })
    return (error as { data: { reason: string } }).data.reason
  }
  return 'accepted'
}

/** A header, then a few bytes, far fewer than it declares. */
const bomb = (header: string): Uint8Array => fromHex(`${header} 00 00 00 00`)

describe('validateMsgpack: bounded decoding before msgpackr allocates', () => {
  it.each([
    ['array16', 'dc ffff'],
    ['array32', 'dd ffffffff'],
    ['map16', 'de ffff'],
    ['map32', 'df ffffffff'],
    ['str8', 'd9 ff'],
    ['str16', 'da ffff'],
    ['str32', 'db ffffffff'],
    ['bin8', 'c4 ff'],
    ['bin16', 'c5 ffff'],
    ['bin32', 'c6 ffffffff'],
    ['ext8', 'c7 ff 42'],
    ['ext16', 'c8 ffff 42'],
    ['ext32', 'c9 ffffffff 42'],
    ['fixstr', 'bf'],
    ['fixarray', '9f'],
    ['fixmap', '8f'],
  ])('refuses a length bomb in %s (declared length past the bytes that remain)', (_what, header) => {
    for (const dialect of ['plain', 'troupe', 'records'] as const) expect(reasonOf(bomb(header), { dialect })).toBe('length')
  })

  it.each([
    ['fixext 16', 'd8 42 0001'],
    ['fixext 8', 'd7 ff 00'],
  ])('refuses a %s cut short', (_what, bytes) => {
    expect(reasonOf(fromHex(bytes), { dialect: 'troupe' })).toBe('length')
  })

  it('refuses a map of n pairs with fewer than 2n bytes left (each key and value takes a byte)', () => {
    expect(reasonOf(fromHex('83 01 02 03 04'))).toBe('length')
    expect(reasonOf(fromHex('83 01 02 03 04 05 06'))).toBe('accepted')
  })

  it('refuses the issue’s 101-byte out-of-memory class: a small array whose element is an array32 claiming billions', () => {
    const bytes = new Uint8Array(101)
    bytes.set(fromHex('92 a1 78 dd fffffff0'))
    expect(reasonOf(bytes)).toBe('length')
    const map = new Uint8Array(101)
    map.set(fromHex('81 a1 6b df 7fffffff'))
    expect(reasonOf(map)).toBe('length')
  })

  it('caps nesting depth (default 64, configurable): 20 levels pass by default, 10 000 are refused without recursion', () => {
    const nested = (levels: number): Uint8Array => new Uint8Array([...new Array<number>(levels).fill(0x91), 0xc0])
    expect(reasonOf(nested(20))).toBe('accepted')
    expect(reasonOf(nested(64))).toBe('accepted')
    expect(reasonOf(nested(65))).toBe('depth')
    expect(reasonOf(nested(10_000))).toBe('depth')
    expect(reasonOf(nested(20), { maxDepth: 19 })).toBe('depth')
    // Maps, records, Sets and Error causes count as levels too.
    expect(reasonOf(new Uint8Array([...new Array<number>(100).fill(0x81).flatMap((b) => [b, 0x00]), 0xc0]))).toBe('depth')
    // An Error whose cause is an Error whose cause is…: [name 'E', message '', cause].
    const errorChain = (levels: number): Uint8Array => new Uint8Array(Buffer.concat([...new Array<Buffer>(levels).fill(Buffer.from('d4650093a145a0', 'hex')), Buffer.from([0xc0])]))
    expect(reasonOf(errorChain(10), { dialect: 'troupe' })).toBe('accepted')
    expect(reasonOf(errorChain(100), { dialect: 'troupe' })).toBe('depth')
  })

  it('caps the values decoded with maxElements', () => {
    expect(reasonOf(pack([1, 2, 3]), { maxElements: 4 })).toBe('accepted')
    expect(reasonOf(pack([1, 2, 3]), { maxElements: 3 })).toBe('elements')
  })

  it('steps at most once per input byte (decoding cost linear in the input)', () => {
    for (const value of [[1, 2, 3], { a: 'b', c: [null, true, 1.5] }, 'x'.repeat(1000), new Array(5000).fill(0)]) {
      const bytes = pack(value)
      expect(validateMsgpack(bytes)).toBeLessThanOrEqual(bytes.length)
    }
  })

  it('refuses 0xc1, trailing bytes and truncation', () => {
    expect(reasonOf(fromHex('91 c1'))).toBe('reserved-byte')
    expect(reasonOf(fromHex('01 02'))).toBe('trailing')
    expect(reasonOf(fromHex('92 01'))).toBe('length')
    expect(reasonOf(fromHex('dc 00'))).toBe('truncated')
    expect(reasonOf(fromHex('c7'))).toBe('truncated')
    expect(reasonOf(fromHex('cd 01'))).toBe('length')
    expect(reasonOf(fromHex(''))).toBe('truncated')
  })

  it('plain msgpack: 0x40–0x7f are integers, map keys are scalars, only ActorRef, timestamp and undefined extensions', () => {
    expect(reasonOf(fromHex('93 40 55 7f'))).toBe('accepted')
    expect(reasonOf(fromHex('81 91 01 02'))).toBe('map-key') // an array as a key
    expect(reasonOf(fromHex('81 c4 01 00 02'))).toBe('map-key') // bytes as a key
    expect(reasonOf(fromHex('d6 ff 00000001'))).toBe('accepted') // timestamp 32
    expect(reasonOf(fromHex('d4 00 00'))).toBe('accepted') // msgpackr's undefined
    for (const ext of ['d4 72 40', 'd4 65 00', 'd4 73 00', 'c7 02 74 01 00', 'd4 42 01', 'd4 62 00', 'd6 69 00000001', 'd4 78 00']) {
      expect(reasonOf(fromHex(ext)), ext).toBe('extension')
    }
  })

  it('troupe msgpack: the extensions Troupe writes, with data msgpackr can decode', () => {
    const troupe = { dialect: 'troupe' } as const
    const packr = new Packr({ useRecords: false, moreTypes: true })
    for (const value of [new Set([1, 2]), new Error('boom'), new Float64Array([1, 2]), 2n ** 100n, new Date(0), undefined, new Date(Number.NaN)]) {
      expect(reasonOf(packr.pack([value]), troupe), String(value)).toBe('accepted')
    }
    expect(reasonOf(fromHex('d4 73 00 01'), troupe)).toBe('extension') // a Set of a non-array
    expect(reasonOf(fromHex('d4 65 00 92 a1 61 a1 62'), troupe)).toBe('extension') // an Error of two fields
    expect(reasonOf(fromHex('d4 65 00 93 a9 5f5f70726f746f5f5f a0 c0'), troupe)).toBe('extension') // Error named __proto__
    expect(reasonOf(fromHex('d4 65 00 93 ae 6861734f776e50726f7065727479 a0 c0'), troupe)).toBe('extension') // hasOwnProperty
    expect(reasonOf(fromHex('c7 04 74 08 00 00 00'), troupe)).toBe('extension') // Float64Array of 3 bytes
    expect(reasonOf(fromHex('c7 02 74 0c 00'), troupe)).toBe('extension') // unknown typed array code
    expect(reasonOf(fromHex('c7 00 42'), troupe)).toBe('extension') // empty bigint
    expect(reasonOf(fromHex('c7 00 2a'), troupe)).toBe('accepted') // ActorRef data is checked by its own reader
    expect(reasonOf(fromHex('d6 62 00000000'), troupe)).toBe('extension') // string bundles
    expect(reasonOf(fromHex('d6 69 00000001 01'), troupe)).toBe('extension') // structured clone ids
    expect(reasonOf(fromHex('d4 72 40 90'), troupe)).toBe('extension') // records are for batch frames
  })

  describe('records (batch frames)', () => {
    const dialect = { dialect: 'records' } as const

    it('accepts what the Codec writes: inline definitions, then references', () => {
      const value = [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { c: [{ a: 3, b: 'z' }] }, new Map([[[1], 2]])]
      const bytes = records.pack(value)
      expect(reasonOf(bytes, dialect)).toBe('accepted')
      expect(records.unpack(bytes)).toEqual(value)
    })

    it('refuses a reference to a record not defined in the value', () => {
      expect(reasonOf(fromHex('91 40'), dialect)).toBe('record')
      expect(reasonOf(fromHex('92 d4 72 41 91 a1 61 01 40'), dialect)).toBe('record')
    })

    it('refuses bogus record definitions', () => {
      expect(reasonOf(fromHex('d4 72 40 dd ffffffff'), dialect)).toBe('length') // key count past the bytes
      expect(reasonOf(fromHex('d4 72 40 92 a1 61 01 05 06'), dialect)).toBe('record') // a key that is not a string
      expect(reasonOf(fromHex('d4 72 40 a1 61'), dialect)).toBe('record') // keys not an array
      expect(reasonOf(fromHex('d4 72 05 91 a1 61 01'), dialect)).toBe('record') // id outside 0x40–0x7f
      expect(reasonOf(fromHex('d5 72 60 00 91 a1 61 01'), dialect)).toBe('extension') // two-byte ids are never written
      // A definition of 3 fields followed by fewer values; then references each needing 3 values.
      expect(reasonOf(fromHex('d4 72 40 93 a1 61 a1 62 a1 63 01 02'), dialect)).toBe('length')
      expect(reasonOf(fromHex('92 d4 72 40 92 a1 61 a1 62 01 02 40 01'), dialect)).toBe('length')
    })

    /** The review's flood: `[[{k0: 0} ×4, {k1: 0} ×4, …]]`, one record definition per distinct key, each used 4 times. */
    const flood = (shapes: number): Uint8Array => {
      const objects: Record<string, number>[] = []
      for (let i = 0; i < shapes; i++) for (let j = 0; j < 4; j++) objects.push({ [`k${i}`]: 0 })
      return records.pack([objects])
    }

    it('caps record definitions per value (default 256, reason `records`) before msgpackr compiles a reader per definition', () => {
      expect(reasonOf(flood(256), dialect)).toBe('accepted')
      const over = flood(257)
      const started = performance.now()
      expect(reasonOf(over, dialect)).toBe('records')
      expect(performance.now() - started).toBeLessThan(10)
      // The review's 91 KB frame of ~6 000 definitions is refused as cheaply.
      const large = flood(6000)
      const t0 = performance.now()
      expect(reasonOf(large, dialect)).toBe('records')
      expect(performance.now() - t0).toBeLessThan(10)
      expect(reasonOf(flood(10), { dialect: 'records', maxRecords: 9 })).toBe('records')
      expect(reasonOf(flood(10), { dialect: 'records', maxRecords: 10 })).toBe('accepted')
    })
  })
})
