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

export function encodePayload(value: unknown, negative: boolean, staleMs: number, tags: readonly string[]): Uint8Array {
  const body = packr.pack([value === undefined ? null : value, negative ? 1 : 0, staleMs, tags])
  const out = new Uint8Array(body.length + PAYLOAD_HEADER_BYTES)
  out[0] = PAYLOAD_FORMAT
  out.set(body, PAYLOAD_HEADER_BYTES)
  return out
}

/**
 * Decodes bytes read from L2 as hostile: the format byte, a msgpack pre-scan (lengths within the
 * bytes, nesting capped) before msgpackr touches them, then every field's type.
 */
export function decodePayload(bytes: Uint8Array, cache: string): DecodedPayload {
  const fail = (reason: string): never => {
    throw new CacheDecodeError(`cache '${cache}': L2 value refused (${reason})`, { data: { cache, source: 'l2', reason } })
  }
  if (bytes.length < 2) fail('too short')
  if (bytes[0] !== PAYLOAD_FORMAT) fail(`format byte ${bytes[0]}`)
  if (bytes.length <= PAYLOAD_HEADER_BYTES) fail('too short')
  const body = bytes.subarray(PAYLOAD_HEADER_BYTES)
  try {
    validateMsgpack(body, { maxDepth: 32 })
  } catch {
    fail('malformed msgpack')
  }
  let decoded: unknown
  try {
    decoded = packr.unpack(body)
  } catch {
    fail('malformed msgpack')
  }
  if (!Array.isArray(decoded) || decoded.length !== 4) fail('not a cache record')
  const [value, negative, staleMs, tags] = decoded as unknown[]
  if ((negative !== 0 && negative !== 1) || typeof staleMs !== 'number' || !(staleMs >= 0) || !Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) fail('bad fields')
  return { value: negative === 1 ? undefined : value, negative: negative === 1, staleMs: staleMs as number, tags: tags as string[] }
}
