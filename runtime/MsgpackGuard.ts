import { ACTOR_REF_EXTENSION } from './ActorRefExtension.ts'
import { malformed } from './FrameValidation.ts'

/**
 * A validating pre-scan of untrusted msgpack, run before msgpackr sees the bytes.
 *
 * msgpackr's reader trusts declared lengths: an array32 header claiming 4 billion elements makes it
 * allocate before it notices the bytes are not there, and its recursion has no depth limit. This
 * scan walks the structure once, without allocating, and refuses (MalformedFrameError with a
 * `data.reason`) unless:
 * - every declared length (array, map, str, bin, ext) fits in the bytes that remain; an array of n
 *   needs at least n bytes, a map of n pairs 2n, since every value takes at least one byte;
 * - containers nest at most `maxDepth` deep, and at most `maxElements` values are decoded;
 * - the value is exactly one msgpack value (no trailing bytes), 0xc1 does not occur, and every ext
 *   type is one Troupe writes, with data msgpackr can decode without throwing.
 * Each value takes at least one byte and the scan visits each once, so it is linear in the input
 * (it returns the number of values, never more than `bytes.length`), and what it accepts msgpackr
 * decodes in linear time. On a batch frame of 1024 small tells it costs about 10 ns per envelope,
 * a tenth of the frame's decode.
 */
export interface MsgpackGuardOptions {
  /**
   * Which msgpack the bytes are:
   * - `plain` (default): what any msgpack library writes (the gateway's payloads). Maps decode to
   *   objects, so keys must be strings, numbers, booleans or nil. Ext types: ActorRef (42),
   *   timestamp (-1) and msgpackr's undefined (0).
   * - `troupe`: what a Codec writes outside batches (msgpackr `moreTypes`): also bigint, Error, Set
   *   and typed-array extensions.
   * - `records`: batch frames (msgpackr `useRecords`, `maxSharedStructures: 0`): `troupe`, plus
   *   record definitions (fixext 1 of type 0x72) and record references (0x40–0x7f) to a record
   *   defined earlier in the same value. Map keys may be any value (maps decode to Maps).
   */
  readonly dialect?: 'plain' | 'troupe' | 'records'
  /** Most containers open at once. Default 64. */
  readonly maxDepth?: number
  /** Most values decoded (each takes at least one byte, so never more than the input's length). Default: no further bound. */
  readonly maxElements?: number
  /**
   * `records` dialect: most record definitions in the value. msgpackr compiles a reader function
   * (`new Function`) per definition read more than twice, so thousands of distinct definitions in
   * one small frame cost hundreds of milliseconds of event loop; more are refused (`records`).
   * Default 256 (DEFAULT_MAX_RECORDS).
   */
  readonly maxRecords?: number
}

export const DEFAULT_MAX_DEPTH = 64
/** Record definitions one value may hold (records dialect) unless told otherwise. */
export const DEFAULT_MAX_RECORDS = 256
/** The fewest bytes one record definition takes (fixext 1 header, type, id, array header): a value shorter than 4 × n holds fewer than n. */
export const MIN_RECORD_DEFINITION_BYTES = 4

/** Bigints beyond this many bytes (8 192 bits) are refused: msgpackr's conversion is superlinear. */
const MAX_BIGINT_BYTES = 1024
/** Element sizes of msgpackr's typed-array extension (0x74), by its type code; 0 = not a code. */
const TYPED_ARRAY_SIZES = new Uint8Array(18)
TYPED_ARRAY_SIZES.set([1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8], 0)
TYPED_ARRAY_SIZES[16] = 1 // ArrayBuffer
TYPED_ARRAY_SIZES[17] = 1 // DataView

const EXT_UNDEFINED = 0x00
const EXT_BIGINT = 0x42
const EXT_ERROR = 0x65
const EXT_RECORD = 0x72
const EXT_SET = 0x73
const EXT_TYPED_ARRAY = 0x74
const EXT_TIMESTAMP = 0xff

const DIALECT_PLAIN = 0
const DIALECT_TROUPE = 1
const DIALECT_RECORDS = 2

/** Level flags: a map whose keys must be scalars (msgpackr reads it into an object). */
const SCALAR_KEYS = 1

/** Reused between scans (scans never nest): remaining values and flags per open container. */
let remaining = new Int32Array(DEFAULT_MAX_DEPTH + 1)
let levelFlags = new Uint8Array(DEFAULT_MAX_DEPTH + 1)
/** Field counts of the records defined so far in this value, by id (0x40–0x7f); -1 = not defined. */
const recordFields = new Int32Array(64)

/**
 * Throws MalformedFrameError unless `bytes` is exactly one acceptable msgpack value (see
 * MsgpackGuardOptions). Returns how many values it holds (at most `bytes.length`).
 */
export function validateMsgpack(bytes: Uint8Array, options: MsgpackGuardOptions = {}): number {
  const dialect = options.dialect === 'records' ? DIALECT_RECORDS : options.dialect === 'troupe' ? DIALECT_TROUPE : DIALECT_PLAIN
  return scan(bytes, dialect, options.maxDepth ?? DEFAULT_MAX_DEPTH, options.maxElements ?? Infinity, options.maxRecords ?? DEFAULT_MAX_RECORDS)
}

/** @internal The codec's entry: no options object per frame. */
export function scanMsgpack(bytes: Uint8Array, dialect: 0 | 1 | 2, maxDepth: number, maxElements: number, maxRecords: number = DEFAULT_MAX_RECORDS): number {
  return scan(bytes, dialect, maxDepth, maxElements, maxRecords)
}
export const MsgpackDialect = { plain: DIALECT_PLAIN, troupe: DIALECT_TROUPE, records: DIALECT_RECORDS } as const

function scan(b: Uint8Array, dialect: number, maxDepth: number, maxElements: number, maxRecords: number): number {
  if (remaining.length <= maxDepth) {
    remaining = new Int32Array(maxDepth + 1)
    levelFlags = new Uint8Array(maxDepth + 1)
  }
  // Counts live in an Int32Array: no value of a buffer this large could be scanned in time anyway.
  if (b.length > 0x7fffffff) throw malformed('length', 'input larger than 2 GiB')
  const records = dialect === DIALECT_RECORDS
  const keyFlags = records ? 0 : SCALAR_KEYS
  if (records) recordFields.fill(-1)
  const end = b.length
  let pos = 0
  let depth = 0
  // Values are counted when their container opens (each slot is one value), not one by one.
  let values = 1
  let definitions = 0
  if (values > maxElements) throw malformed('elements', `more than ${maxElements} values`)
  // The open container's state lives in locals; the arrays hold only the enclosing ones.
  let left = 1
  let flags = 0
  for (;;) {
    if (left === 0) {
      if (depth === 0) {
        if (pos !== end) throw malformed('trailing', `${end - pos} bytes follow the msgpack value`)
        return values
      }
      depth--
      left = remaining[depth] as number
      flags = levelFlags[depth] as number
      continue
    }
    left--
    if (pos >= end) throw malformed('truncated', 'msgpack value is truncated')
    const token = b[pos++] as number
    // A key of a map read into an object: odd `left` after the decrement means this is a key.
    if (flags === SCALAR_KEYS && (left & 1) === 1 && !isScalarToken(token)) {
      throw malformed('map-key', 'a map key must be a string, number, boolean or nil')
    }
    let count = 0
    let pairs = false
    if (token < 0x80) {
      if (token < 0x40 || !records) continue
      count = recordFields[token & 0x3f] as number
      if (count < 0) throw malformed('record', `record ${token} is used before it is defined`)
    } else if (token < 0x90) {
      count = token & 0x0f
      pairs = true
    } else if (token < 0xa0) {
      count = token & 0x0f
    } else if (token < 0xc0) {
      pos += token & 0x1f
      if (pos > end) throw malformed('length', 'a string exceeds the bytes that remain')
      continue
    } else if (token >= 0xe0) {
      continue
    } else {
      switch (token) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          continue
        case 0xc1:
          throw malformed('reserved-byte', '0xc1 is never used in msgpack')
        case 0xc4:
        case 0xd9:
          need(pos, 1, end)
          pos = skip(pos + 1, b[pos] as number, end)
          continue
        case 0xc5:
        case 0xda:
          need(pos, 2, end)
          pos = skip(pos + 2, u16(b, pos), end)
          continue
        case 0xc6:
        case 0xdb:
          need(pos, 4, end)
          pos = skip(pos + 4, u32(b, pos), end)
          continue
        case 0xcc:
        case 0xd0:
          pos = skip(pos, 1, end)
          continue
        case 0xcd:
        case 0xd1:
          pos = skip(pos, 2, end)
          continue
        case 0xca:
        case 0xce:
        case 0xd2:
          pos = skip(pos, 4, end)
          continue
        case 0xcb:
        case 0xcf:
        case 0xd3:
          pos = skip(pos, 8, end)
          continue
        case 0xdc:
          need(pos, 2, end)
          count = u16(b, pos)
          pos += 2
          break
        case 0xdd:
          need(pos, 4, end)
          count = u32(b, pos)
          pos += 4
          break
        case 0xde:
          need(pos, 2, end)
          count = u16(b, pos)
          pos += 2
          pairs = true
          break
        case 0xdf:
          need(pos, 4, end)
          count = u32(b, pos)
          pos += 4
          pairs = true
          break
        default: {
          // ext: fixext 1/2/4/8/16 (0xd4–0xd8) or ext 8/16/32 (0xc7–0xc9); then the type byte and data.
          let length: number
          if (token >= 0xd4) length = 1 << (token - 0xd4)
          else if (token === 0xc7) {
            need(pos, 1, end)
            length = b[pos++] as number
          } else if (token === 0xc8) {
            need(pos, 2, end)
            length = u16(b, pos)
            pos += 2
          } else {
            need(pos, 4, end)
            length = u32(b, pos)
            pos += 4
          }
          need(pos, 1, end)
          if (length > end - pos - 1) throw malformed('length', `ext of ${length} bytes exceeds the ${end - pos - 1} that remain`)
          const type = b[pos] as number
          const data = pos + 1
          pos = data + length
          const fixed1 = token === 0xd4
          if (type === ACTOR_REF_EXTENSION) {
            // The extension's own reader checks the address tuple byte by byte.
            continue
          }
          if (type === EXT_TIMESTAMP) {
            // msgpackr writes an invalid Date as a 1-byte timestamp.
            if (length !== 4 && length !== 8 && length !== 12 && length !== 1) throw malformed('extension', 'a timestamp is 4, 8 or 12 bytes')
            continue
          }
          if (type === EXT_UNDEFINED && fixed1) continue
          if (dialect === DIALECT_PLAIN) throw malformed('extension', `ext type ${type} is not accepted here`)
          if (type === EXT_BIGINT) {
            if (length === 0 || length > MAX_BIGINT_BYTES) throw malformed('extension', 'a bigint has 1 to 1024 bytes')
            continue
          }
          if (type === EXT_TYPED_ARRAY) {
            const size = length === 0 ? 0 : (TYPED_ARRAY_SIZES[b[data] as number] ?? 0)
            if (size === 0 || (length - 1) % size !== 0) throw malformed('extension', 'malformed typed array')
            continue
          }
          if (!fixed1) throw malformed('extension', `ext type ${type} is not accepted here`)
          if (type === EXT_RECORD && records) {
            // Definition: an id, then an array of key strings; the record's values follow at once.
            if (++definitions > maxRecords) throw malformed('records', `more than ${maxRecords} record definitions`)
            const id = b[data] as number
            if (id < 0x40 || id > 0x7f) throw malformed('record', 'record id out of range')
            const keys = readArrayHeader(b, pos, end)
            pos = keys.pos
            for (let i = 0; i < keys.count; i++) pos = skipString(b, pos, end, 'record')
            values += keys.count
            recordFields[id & 0x3f] = keys.count
            count = keys.count
            break
          }
          if (type === EXT_SET) {
            // msgpackr builds `new Set(next value)`: it must be an array.
            need(pos, 1, end)
            const next = b[pos] as number
            if (!((next >= 0x90 && next < 0xa0) || next === 0xdc || next === 0xdd)) throw malformed('extension', 'a Set must hold an array')
            count = 1
            break
          }
          if (type === EXT_ERROR) {
            // msgpackr reads `[name, message, cause]` and looks the name up on a plain object.
            need(pos, 1, end)
            if (b[pos] !== 0x93) throw malformed('extension', 'an Error must hold [name, message, cause]')
            pos = checkErrorName(b, pos + 1, end)
            pos = skipString(b, pos, end, 'extension')
            values += 2
            count = 1
            break
          }
          throw malformed('extension', `ext type ${type} is not accepted here`)
        }
      }
    }
    if (count === 0) continue
    let slots = pairs ? count * 2 : count
    if (slots > end - pos) throw malformed('length', `${pairs ? 'map' : 'array'} of ${count} exceeds the ${end - pos} bytes that remain`)
    if (depth >= maxDepth) throw malformed('depth', `nested deeper than ${maxDepth}`)
    values += slots
    if (values > maxElements) throw malformed('elements', `more than ${maxElements} values`)
    // Fast path: the leading scalars of a container (most payload fields) are stepped over here,
    // and a container of scalars only never opens a level. Every token below is a valid map key.
    let slotsLeft = slots
    while (slotsLeft > 0) {
      const next = b[pos] as number
      let size: number
      if (next < 0x80) {
        if (next >= 0x40 && records) break
        size = 1
      } else if (next >= 0xe0 || next === 0xc0 || next === 0xc2 || next === 0xc3) size = 1
      else if (next >= 0xa0 && next < 0xc0) size = 1 + (next & 0x1f)
      else if (next === 0xcb) size = 9
      else break
      if (size > end - pos) throw malformed('length', 'a value exceeds the bytes that remain')
      pos += size
      slotsLeft--
    }
    if (slotsLeft === 0) continue
    slots = slotsLeft
    remaining[depth] = left
    levelFlags[depth] = flags
    depth++
    left = slots
    flags = pairs ? keyFlags : 0
  }
}

function isScalarToken(token: number): boolean {
  return token < 0x80 || (token >= 0xa0 && token <= 0xc3 && token !== 0xc1) || (token >= 0xca && token <= 0xd3) || (token >= 0xd9 && token <= 0xdb) || token >= 0xe0
}

function need(pos: number, bytes: number, end: number): void {
  if (bytes > end - pos) throw malformed('truncated', 'msgpack value is truncated')
}

function skip(pos: number, bytes: number, end: number): number {
  if (bytes > end - pos) throw malformed('length', `a length of ${bytes} exceeds the ${end - pos} bytes that remain`)
  return pos + bytes
}

function u16(b: Uint8Array, pos: number): number {
  return ((b[pos] as number) << 8) | (b[pos + 1] as number)
}

function u32(b: Uint8Array, pos: number): number {
  return (b[pos] as number) * 0x1000000 + (((b[pos + 1] as number) << 16) | ((b[pos + 2] as number) << 8) | (b[pos + 3] as number))
}

function readArrayHeader(b: Uint8Array, pos: number, end: number): { count: number; pos: number } {
  need(pos, 1, end)
  const token = b[pos++] as number
  let count: number
  if (token >= 0x90 && token < 0xa0) count = token & 0x0f
  else if (token === 0xdc) {
    need(pos, 2, end)
    count = u16(b, pos)
    pos += 2
  } else if (token === 0xdd) {
    need(pos, 4, end)
    count = u32(b, pos)
    pos += 4
  } else throw malformed('record', 'a record definition must hold an array of keys')
  if (count > end - pos) throw malformed('length', `array of ${count} exceeds the ${end - pos} bytes that remain`)
  return { count, pos }
}

/** Skips one string value (any str form); anything else is refused. */
function skipString(b: Uint8Array, pos: number, end: number, reason: 'record' | 'extension'): number {
  need(pos, 1, end)
  const token = b[pos++] as number
  if (token >= 0xa0 && token < 0xc0) return skip(pos, token & 0x1f, end)
  if (token === 0xd9) {
    need(pos, 1, end)
    return skip(pos + 1, b[pos] as number, end)
  }
  if (token === 0xda) {
    need(pos, 2, end)
    return skip(pos + 2, u16(b, pos), end)
  }
  if (token === 0xdb) {
    need(pos, 4, end)
    return skip(pos + 4, u32(b, pos), end)
  }
  throw malformed(reason, 'expected a string')
}

/** An Error's name is looked up on a plain object by msgpackr: `__proto__`, `hasOwnProperty`… would break it. */
function checkErrorName(b: Uint8Array, pos: number, end: number): number {
  const start = pos
  const after = skipString(b, pos, end, 'extension')
  const token = b[start] as number
  const from = token < 0xc0 ? start + 1 : token === 0xd9 ? start + 2 : token === 0xda ? start + 3 : start + 5
  if (after - from <= 32) {
    let name = ''
    for (let i = from; i < after; i++) name += String.fromCharCode(b[i] as number)
    if (name in Object.prototype) throw malformed('extension', 'an Error name may not be an Object property')
  }
  return after
}
