import { Packr } from 'msgpackr'
import { validateMsgpack } from '../../runtime/index.ts'
import { CacheDecodeError } from '../errors.ts'

/** The first byte of every value this cache writes to L2; a reader refuses any other (a future format, or foreign bytes). */
export const PAYLOAD_FORMAT = 2

/**
 * Bytes before the msgpack body: the format byte, then the key's version and the value's absolute
 * expiry (Redis time, ms), each a big-endian float64. The L2 store fills both when it writes (they
 * are zeros in what `encodePayload` returns), so a read is one plain GET: the value carries what it
 * needs to order writes and to keep the remaining TTL, with no second field and no script.
 */
export const PAYLOAD_HEADER_BYTES = 17

/** What an L2 value holds besides the user's value. */
export interface DecodedPayload {
  readonly value: unknown
  readonly negative: boolean
  /** How long of the stored TTL is the stale tail (fail-safe window): fresh for `ttl - staleMs`. */
  readonly staleMs: number
  readonly tags: readonly string[]
}

// Plain msgpack (no records): other languages can read what Node writes.
const packr = new Packr({ useRecords: false, moreTypes: false })
/** One options object for every decode's pre-scan. */
const GUARD = { maxDepth: 32 } as const

export function encodePayload(value: unknown, negative: boolean, staleMs: number, tags: readonly string[]): Uint8Array {
  const body = packr.pack([value === undefined ? null : value, negative ? 1 : 0, staleMs, tags])
  const out = new Uint8Array(body.length + PAYLOAD_HEADER_BYTES)
  out[0] = PAYLOAD_FORMAT
  out.set(body, PAYLOAD_HEADER_BYTES)
  return out
}

/** Module level, not a closure per decode: the hit path runs this for every L2 read. */
function refuse(cache: string, reason: string): never {
  throw new CacheDecodeError(`cache '${cache}': L2 value refused (${reason})`, { data: { cache, source: 'l2', reason } })
}

/**
 * Decodes bytes read from L2 as hostile: the format byte, a msgpack pre-scan (lengths within the
 * bytes, nesting capped) before msgpackr touches them, then every field's type.
 */
export function decodePayload(bytes: Uint8Array, cache: string): DecodedPayload {
  if (bytes.length < 2) refuse(cache, 'too short')
  if (bytes[0] !== PAYLOAD_FORMAT) refuse(cache, `format byte ${bytes[0]}`)
  if (bytes.length <= PAYLOAD_HEADER_BYTES) refuse(cache, 'too short')
  const body = bytes.subarray(PAYLOAD_HEADER_BYTES)
  let decoded: unknown
  try {
    validateMsgpack(body, GUARD)
    decoded = packr.unpack(body)
  } catch {
    refuse(cache, 'malformed msgpack')
  }
  if (!Array.isArray(decoded) || decoded.length !== 4) refuse(cache, 'not a cache record')
  const record = decoded as unknown[]
  const negative = record[1]
  const staleMs = record[2]
  const tags = record[3]
  if ((negative !== 0 && negative !== 1) || typeof staleMs !== 'number' || !(staleMs >= 0) || !Array.isArray(tags)) refuse(cache, 'bad fields')
  for (let i = 0; i < (tags as unknown[]).length; i++) if (typeof (tags as unknown[])[i] !== 'string') refuse(cache, 'bad fields')
  return { value: negative === 1 ? undefined : record[0], negative: negative === 1, staleMs: staleMs as number, tags: tags as string[] }
}
