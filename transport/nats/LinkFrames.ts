/**
 * The bytes of the reliable NATS link (docs/protocol.md, "Link: sequence numbers, acks, credit"):
 * a header in front of every node frame, and the acknowledgement a receiver sends back.
 * Everything read here comes from the network: every length and field is checked before use.
 */
import { checkToken } from './subjects.ts'

/** First byte of a link data frame ('L'); a bare codec frame starts with 0xc1 instead. */
export const DATA_MARKER = 0x4c
/** First byte of an acknowledgement ('A'). */
export const ACK_MARKER = 0x41
export const LINK_VERSION = 1
/** Fixed part of the data header, before the sender's node name. */
export const DATA_FIXED_BYTES = 21
/** Fixed part of an ack, before the receiver's node name. */
export const ACK_FIXED_BYTES = 34
/** Ack flag: the receiver does not know this stream (it restarted, or never saw its first frame). */
export const ACK_RESET = 1
/** Ack flag: the receiver dropped a frame that came after a gap (a frame before it was lost). */
export const ACK_GAP = 2
const MAX_SHARD = 1023
const MAX_SEQ = Number.MAX_SAFE_INTEGER

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** The header of a data frame, as read. */
export interface DataHeader {
  readonly node: string
  readonly shard: number
  readonly session: number
  readonly epoch: number
  readonly seq: number
  /** Where the codec frame starts. */
  readonly bodyOffset: number
}

/** An acknowledgement, as read. */
export interface Ack {
  readonly node: string
  readonly shard: number
  readonly receiverSession: number
  readonly senderSession: number
  readonly epoch: number
  readonly delivered: number
  readonly credit: number
  readonly flags: number
}

/**
 * The constant part of one stream's header (everything but the sequence number), built once per
 * stream: `prefix` is copied in front of each frame and the seq written at offset 12.
 */
export function dataPrefix(node: string, shard: number, session: number, epoch: number): Uint8Array {
  const name = encoder.encode(node)
  const out = new Uint8Array(DATA_FIXED_BYTES + name.byteLength)
  const view = new DataView(out.buffer)
  out[0] = DATA_MARKER
  out[1] = LINK_VERSION
  view.setUint16(2, shard, true)
  view.setUint32(4, session, true)
  view.setUint32(8, epoch, true)
  out[20] = name.byteLength
  out.set(name, DATA_FIXED_BYTES)
  return out
}

/**
 * Header (`prefix` with `seq`) followed by the codec frame. When the codec left exactly the header's
 * room in front of the frame (`Codec.reserveFrameHeadroom`: the frame is the rest of an ArrayBuffer
 * of its own), the header is written there: no copy of the frame, one small view. Otherwise one new
 * buffer. Rewriting the header in place for a resend is safe: nats.js copies what it is given by
 * the next microtask (or holds it while disconnected, when nothing is published or resent), a resend
 * of the same epoch writes the same bytes, and a new epoch starts only after the peer answered.
 */
export function dataFrame(prefix: Uint8Array, seq: number, body: Uint8Array): Uint8Array {
  const room = prefix.byteLength
  let out: Uint8Array
  if (body.byteOffset === room && body.buffer.byteLength === room + body.byteLength && !(body.buffer instanceof SharedArrayBuffer)) {
    out = new Uint8Array(body.buffer, 0, room + body.byteLength)
    out.set(prefix, 0)
  } else {
    out = new Uint8Array(room + body.byteLength)
    out.set(prefix, 0)
    out.set(body, room)
  }
  if (LITTLE_ENDIAN) {
    seqScratch[0] = seq
    out.set(seqBytes, 12)
  } else new DataView(out.buffer, out.byteOffset, DATA_FIXED_BYTES).setFloat64(12, seq, true)
  return out
}

/** The sequence number's little-endian bytes through one reused buffer: no DataView per frame (on little-endian hosts). */
const seqScratch = new Float64Array(1)
const seqBytes = new Uint8Array(seqScratch.buffer)
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** The header of a received data frame, or null when it is not a well-formed one. */
export function readDataHeader(bytes: Uint8Array): DataHeader | null {
  if (bytes.byteLength < DATA_FIXED_BYTES || bytes[0] !== DATA_MARKER || bytes[1] !== LINK_VERSION) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const shard = view.getUint16(2, true)
  const session = view.getUint32(4, true)
  const epoch = view.getUint32(8, true)
  const seq = view.getFloat64(12, true)
  const length = bytes[20] as number
  if (shard > MAX_SHARD || session === 0 || epoch === 0 || !isCount(seq) || seq < 1) return null
  if (length === 0 || DATA_FIXED_BYTES + length > bytes.byteLength) return null
  const node = readToken(bytes, DATA_FIXED_BYTES, length)
  if (node === null) return null
  return { node, shard, session, epoch, seq, bodyOffset: DATA_FIXED_BYTES + length }
}

/** An ack from this receiver (`node`, `shard`, `session`) for one stream. */
export function ackBytes(node: Uint8Array, shard: number, receiverSession: number, senderSession: number, epoch: number, delivered: number, credit: number, flags: number): Uint8Array {
  const out = new Uint8Array(ACK_FIXED_BYTES + node.byteLength)
  const view = new DataView(out.buffer)
  out[0] = ACK_MARKER
  out[1] = LINK_VERSION
  view.setUint16(2, shard, true)
  view.setUint32(4, receiverSession, true)
  view.setUint32(8, senderSession, true)
  view.setUint32(12, epoch, true)
  view.setFloat64(16, delivered, true)
  view.setFloat64(24, credit, true)
  out[32] = flags
  out[33] = node.byteLength
  out.set(node, ACK_FIXED_BYTES)
  return out
}

export function nodeBytes(node: string): Uint8Array {
  return encoder.encode(node)
}

/** A received ack, or null when it is not a well-formed one. */
export function readAck(bytes: Uint8Array): Ack | null {
  if (bytes.byteLength < ACK_FIXED_BYTES || bytes[0] !== ACK_MARKER || bytes[1] !== LINK_VERSION) return null
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const shard = view.getUint16(2, true)
  const receiverSession = view.getUint32(4, true)
  const senderSession = view.getUint32(8, true)
  const epoch = view.getUint32(12, true)
  const delivered = view.getFloat64(16, true)
  const credit = view.getFloat64(24, true)
  const flags = bytes[32] as number
  const length = bytes[33] as number
  if (shard > MAX_SHARD || receiverSession === 0 || senderSession === 0 || epoch === 0) return null
  if (!isCount(delivered) || !isCount(credit) || (flags & ~(ACK_RESET | ACK_GAP)) !== 0) return null
  if (length === 0 || ACK_FIXED_BYTES + length !== bytes.byteLength) return null
  const node = readToken(bytes, ACK_FIXED_BYTES, length)
  if (node === null) return null
  return { node, shard, receiverSession, senderSession, epoch, delivered, credit, flags }
}

function isCount(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= MAX_SEQ
}

/** The last name read, by its bytes: a receiver hears the same few peers frame after frame. */
let lastNameBytes: Uint8Array | null = null
let lastName = ''

function readToken(bytes: Uint8Array, offset: number, length: number): string | null {
  const last = lastNameBytes
  if (last !== null && last.byteLength === length) {
    let same = true
    for (let i = 0; i < length; i++) {
      if (last[i] !== bytes[offset + i]) {
        same = false
        break
      }
    }
    if (same) return lastName
  }
  let text: string
  try {
    text = decoder.decode(bytes.subarray(offset, offset + length))
    checkToken(text, 'node name')
  } catch {
    return null
  }
  lastNameBytes = bytes.slice(offset, offset + length)
  lastName = text
  return text
}

/** A non-zero u32 from the injected randomness: a link session (one per transport instance). */
export function newSession(next: () => number): number {
  return 1 + Math.floor(next() * 0xfffffffe)
}
