import type { ActorRef } from './ActorRef.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import { decodeError, encodeError, MessageTooLargeError, type EncodedError } from './errors.ts'
import { checkAddressTuple, checkEnvelope, checkHeaders, malformed, type ShardBounds } from './FrameValidation.ts'
import { requireResolver, toTuple, type AddressTuple, type Resolve } from './EnvelopeTuple.ts'

/**
 * The binary batch frame's layout (see `Codec`): a preamble, a fixed block per envelope, then one
 * msgpack tail `[addresses, methods, headers, argsList]` that the codec packs and unpacks.
 * Byte 0 is 0xc1, a byte msgpack never uses, so a batch frame is never mistaken for a msgpack
 * value (a legacy batch is a msgpack array of envelope tuples).
 */
export const FRAME_MARK = 0xc1
const FRAME_VERSION = 3
/** mark u8, version u8, reserved u16, envelope count u32 (little-endian, as every number here). */
export const PREAMBLE_BYTES = 8
/** Per envelope: kind u8, flags u8 (HAS_SENDER, HAS_HEADERS, SINGLE_ARG), method u16, target u16, sender u16, id f64, correlationId f64. */
export const FIXED_BYTES = 24
/** Table indexes are u16: a batch with more distinct addresses or methods is refused as too large (Remoting splits it). */
const MAX_TABLE = 0xffff
const HAS_SENDER = 1
const HAS_HEADERS = 2
/** The envelope's argsList entry is its one argument itself, not an array (most calls take one). */
const SINGLE_ARG = 4

/**
 * Writes the preamble and every envelope's fixed block into `view`, and fills the tail's tables
 * (the caller's empty arrays; `argsList` sized to the batch) for the codec to pack.
 */
export function writeBatchBlocks(
  view: DataView,
  envelopes: readonly Envelope[],
  addresses: AddressTuple[],
  methods: string[],
  headersList: Headers[],
  argsList: unknown[],
): void {
  const count = envelopes.length
  // Refs repeat by identity within a batch (one sender, few targets): index them by object.
  const addressIndex = new Map<ActorRef<any>, number>()
  const methodIndex = new Map<string, number>()
  const indexOf = (ref: ActorRef<any>): number => {
    let index = addressIndex.get(ref)
    if (index === undefined) {
      index = addresses.length
      addresses.push(toTuple(ref.address))
      addressIndex.set(ref, index)
    }
    return index
  }
  view.setUint8(0, FRAME_MARK)
  view.setUint8(1, FRAME_VERSION)
  view.setUint16(2, 0)
  view.setUint32(4, count, true)
  // Runs of envelopes share target, sender and method (a turn's stream to one actor): compare
  // with the previous envelope before consulting the tables.
  let lastMethod = ''
  let method = -1
  let lastTarget: ActorRef<any> | null = null
  let target = -1
  let lastSender: ActorRef<any> | null = null
  let sender = 0
  for (let i = 0, at = PREAMBLE_BYTES; i < count; i++, at += FIXED_BYTES) {
    const envelope = envelopes[i] as Envelope
    if (envelope.method !== lastMethod || method < 0) {
      lastMethod = envelope.method
      const known = methodIndex.get(lastMethod)
      if (known === undefined) {
        method = methods.length
        methods.push(lastMethod)
        methodIndex.set(lastMethod, method)
      } else method = known
    }
    if (envelope.target !== lastTarget) {
      lastTarget = envelope.target
      target = indexOf(lastTarget)
    }
    let flags = 0
    if (envelope.sender !== null) {
      flags |= HAS_SENDER
      if (envelope.sender !== lastSender) {
        lastSender = envelope.sender
        sender = indexOf(lastSender)
      }
    }
    if (envelope.headers !== null) {
      flags |= HAS_HEADERS
      headersList.push(envelope.headers)
    }
    const args = envelope.args
    if (envelope.kind === EnvelopeKind.ReplyError) {
      argsList[i] = [encodeError(args[0])]
    } else if (args.length === 1) {
      flags |= SINGLE_ARG
      argsList[i] = args[0]
    } else {
      argsList[i] = args
    }
    view.setUint8(at, envelope.kind)
    view.setUint8(at + 1, flags)
    view.setUint16(at + 2, method, true)
    view.setUint16(at + 4, target, true)
    view.setUint16(at + 6, (flags & HAS_SENDER) === 0 ? 0 : sender, true)
    view.setFloat64(at + 8, envelope.id, true)
    view.setFloat64(at + 16, envelope.correlationId, true)
  }
  if (addresses.length > MAX_TABLE || methods.length > MAX_TABLE) {
    throw new MessageTooLargeError(`a batch frame holds at most ${MAX_TABLE} distinct addresses and methods`, { data: { limit: MAX_TABLE } })
  }
}

/** The frame: fixed block then tail, with `headroom` free bytes in front of it in the same ArrayBuffer. */
export function assembleBatchFrame(view: DataView, fixedEnd: number, tail: Uint8Array, headroom: number): Uint8Array {
  const size = fixedEnd + tail.byteLength
  const frame = headroom === 0 ? new Uint8Array(size) : new Uint8Array(new ArrayBuffer(headroom + size), headroom, size)
  frame.set(new Uint8Array(view.buffer, 0, fixedEnd))
  frame.set(tail, fixedEnd)
  return frame
}

/** Checks the preamble of untrusted bytes and returns the envelope count. */
export function readBatchPreamble(bytes: Uint8Array): number {
  if (bytes.byteLength < PREAMBLE_BYTES) throw malformed('truncated', 'batch frame shorter than its preamble')
  if (bytes[1] !== FRAME_VERSION) throw malformed('version', `unknown batch frame version ${bytes[1]}`)
  if (bytes[2] !== 0 || bytes[3] !== 0) throw malformed('reserved', 'reserved preamble bytes must be 0')
  const count = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true)
  if (count > (bytes.byteLength - PREAMBLE_BYTES) / FIXED_BYTES) throw malformed('count', 'batch frame shorter than its envelope count')
  return count
}

/**
 * Builds the envelopes from the fixed blocks and the unpacked tail. Every field is checked before
 * anything is returned, so a frame is delivered whole or not at all (docs/protocol.md lists the reasons).
 */
export function readBatchBlocks(bytes: Uint8Array, count: number, tail: unknown, resolver: Resolve | null, bounds: ShardBounds | null): Envelope[] {
  if (!Array.isArray(tail) || tail.length !== 4) throw malformed('tables', 'malformed batch frame tables')
  const [addresses, methods, headersList, argsList] = tail as unknown[]
  if (!Array.isArray(addresses) || !Array.isArray(methods) || !Array.isArray(headersList) || !Array.isArray(argsList)) {
    throw malformed('tables', 'malformed batch frame tables')
  }
  if (addresses.length > MAX_TABLE || methods.length > MAX_TABLE) throw malformed('tables', 'batch frame tables too large')
  if (argsList.length !== count) throw malformed('args', 'batch frame args list does not match its envelope count')
  for (let i = 0; i < headersList.length; i++) checkHeaders(headersList[i])
  const resolve = requireResolver(resolver)
  // Each distinct address is checked and resolved once per batch.
  const refs = new Array<ActorRef<any>>(addresses.length)
  for (let i = 0; i < addresses.length; i++) refs[i] = resolve(checkAddressTuple(addresses[i], bounds))
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const envelopes = new Array<Envelope>(count)
  let nextHeaders = 0
  for (let i = 0, at = PREAMBLE_BYTES; i < count; i++, at += FIXED_BYTES) {
    const kind = view.getUint8(at)
    const flags = view.getUint8(at + 1)
    // Timer envelopes are process-local and never cross a boundary.
    if (kind > EnvelopeKind.System || kind === EnvelopeKind.Timer) throw malformed('kind', `unknown envelope kind ${kind}`)
    if ((flags & ~(HAS_SENDER | HAS_HEADERS | SINGLE_ARG)) !== 0) throw malformed('flags', `unknown envelope flags ${flags}`)
    const methodIndex = view.getUint16(at + 2, true)
    const targetIndex = view.getUint16(at + 4, true)
    const senderIndex = view.getUint16(at + 6, true)
    if (methodIndex >= methods.length || targetIndex >= refs.length) throw malformed('table-index', 'envelope names a table entry the frame lacks')
    let sender: ActorRef<any> | null = null
    if ((flags & HAS_SENDER) !== 0) {
      if (senderIndex >= refs.length) throw malformed('table-index', 'envelope names a table entry the frame lacks')
      sender = refs[senderIndex] as ActorRef<any>
    } else if (senderIndex !== 0) throw malformed('sender', 'sender index set without a sender')
    let headers: Headers | null = null
    if ((flags & HAS_HEADERS) !== 0) {
      if (nextHeaders >= headersList.length) throw malformed('headers', 'more envelopes with headers than header maps')
      headers = headersList[nextHeaders++] as Headers
    }
    const entry: unknown = argsList[i]
    const args = (flags & SINGLE_ARG) === 0 ? entry : [entry]
    if (!Array.isArray(args)) throw malformed('args', 'envelope args must be an array')
    const id = view.getFloat64(at + 8, true)
    const correlationId = view.getFloat64(at + 16, true)
    const method = methods[methodIndex]
    checkEnvelope(kind, method, sender !== null, id, correlationId, args)
    const payload = kind === EnvelopeKind.ReplyError ? [decodeError(args[0] as EncodedError)] : args
    envelopes[i] = new Envelope(kind as EnvelopeKind, refs[targetIndex] as ActorRef<any>, sender, id, correlationId, headers, method as string, payload)
  }
  if (nextHeaders !== headersList.length) throw malformed('headers', 'header maps no envelope uses')
  return envelopes
}
