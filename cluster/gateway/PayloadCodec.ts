import { Packr } from 'msgpackr'
import { validateMsgpack } from '../../runtime/index.ts'
import { ContentTypes, type ContentType } from './protocol.ts'

/** Plain msgpack for other languages: maps as objects, no record extension. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true })
const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** The content type a header names, or null when it is not one the protocol speaks. Absent means JSON. */
export function contentTypeOf(header: string): ContentType | null {
  if (header.length === 0) return ContentTypes.Json
  const base = (header.split(';')[0] ?? '').trim().toLowerCase()
  if (base === ContentTypes.Json) return ContentTypes.Json
  if (base === ContentTypes.Msgpack || base === 'application/x-msgpack') return ContentTypes.Msgpack
  return null
}

/**
 * Throws (any error) when the bytes are not a complete value of that encoding. msgpack from outside
 * is scanned first (declared lengths, depth, extensions: ERR_MALFORMED_FRAME with a reason), because
 * msgpackr allocates from a declared length before it checks the bytes are there.
 */
export function decodePayload(type: ContentType, data: Uint8Array): unknown {
  if (type === ContentTypes.Json) return JSON.parse(utf8.decode(data)) as unknown
  validateMsgpack(data, { dialect: 'plain' })
  return packr.unpack(data)
}

/** Throws when the value cannot be written in that encoding (a bigint in JSON, a function). */
export function encodePayload(type: ContentType, value: unknown): Uint8Array {
  if (type === ContentTypes.Json) {
    const text = JSON.stringify(value)
    if (text === undefined) throw new TypeError('value has no JSON form')
    return encoder.encode(text)
  }
  return packr.pack(value)
}
