import { Packr } from 'msgpackr'
import { swapRefContext, type RefDecodeContext } from './ActorRefExtension.ts'
import { sameAddress, type ActorAddress } from './ActorAddress.ts'
import { ActorRef } from './ActorRef.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import { decodeError, encodeError, MalformedFrameError, MessageTooLargeError, NotSerializableError, type EncodedError } from './errors.ts'

export interface CodecOptions {
  /** Largest encoded envelope (or batch) accepted, in bytes. Default 1 MiB. */
  readonly maxMessageBytes?: number
}

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024

type AddressTuple = [system: string, node: string, shard: number, path: string, uid: number]
type EnvelopeTuple = [
  kind: number,
  target: AddressTuple,
  sender: AddressTuple | null,
  id: number,
  correlationId: number,
  headers: Headers | null,
  method: string,
  args: unknown[],
]

function toTuple(address: ActorAddress): AddressTuple {
  return [address.system, address.node, address.shard, address.path, address.uid]
}

function fromTuple(tuple: unknown): ActorAddress {
  if (!Array.isArray(tuple) || tuple.length !== 5) throw new MalformedFrameError('malformed actor address in frame')
  const [system, node, shard, path, uid] = tuple as unknown[]
  if (typeof system !== 'string' || typeof node !== 'string' || typeof shard !== 'number' || typeof path !== 'string' || typeof uid !== 'number') {
    throw new MalformedFrameError('malformed actor address in frame')
  }
  return { system, node, shard, path, uid }
}

/**
 * Binary batch frames. Byte 0 is 0xc1, a byte msgpack never uses, so a batch frame is never
 * mistaken for a msgpack value (a legacy batch is a msgpack array of envelope tuples).
 */
const FRAME_MARK = 0xc1
const FRAME_VERSION = 3
/** mark u8, version u8, reserved u16, envelope count u32 (little-endian, as every number here). */
const PREAMBLE_BYTES = 8
/** Per envelope: kind u8, flags u8 (HAS_SENDER, HAS_HEADERS, SINGLE_ARG), method u16, target u16, sender u16, id f64, correlationId f64. */
const FIXED_BYTES = 24
/** Table indexes are u16: a batch with more distinct addresses or methods is refused as too large (Remoting splits it). */
const MAX_TABLE = 0xffff
const HAS_SENDER = 1
const HAS_HEADERS = 2
/** The envelope's argsList entry is its one argument itself, not an array (most calls take one). */
const SINGLE_ARG = 4

/**
 * Encodes envelopes for every boundary (threads, nodes) with msgpackr. A single envelope is a
 * positional tuple (no field names on the wire). Payloads are plain data: primitives, bigint,
 * arrays, plain objects, Date, Set, typed arrays, Errors and ActorRefs.
 *
 * A batch (what Remoting sends: a turn's envelopes for one peer) is a binary frame: a preamble,
 * then a fixed 24-byte block per envelope (kind, flags, indexes into the address and method tables,
 * id, correlation id), then one msgpack value `[addresses, methods, headers, argsList]` where each
 * distinct address and method name appears once, `headers` holds only the envelopes that have
 * them, and payload objects are msgpackr records with their structure inlined in the frame
 * (`maxSharedStructures: 0`), so each frame decodes on its own, whatever was lost or reordered
 * before it. Keeping the fixed fields out of msgpack is what makes cross-shard tell cheap: the
 * encoder's cost was per msgpack value, and an envelope's fixed fields were eight of them (the
 * figures are in docs/shards.md). Records are msgpackr's extension: frames are for troupe peers;
 * the gateway speaks plain JSON/msgpack.
 */
export class Codec {
  readonly maxMessageBytes: number
  private readonly packr = new Packr({ useRecords: false, moreTypes: true })
  private readonly batchPackr = new Packr({ useRecords: true, maxSharedStructures: 0, moreTypes: true })
  private resolver: ((address: ActorAddress) => ActorRef<any>) | null = null
  /** What the ActorRef extension uses while this codec decodes. */
  private refContext: RefDecodeContext | null = null
  private scratchView = new DataView(new ArrayBuffer(PREAMBLE_BYTES + 64 * FIXED_BYTES))

  constructor(options: CodecOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  }

  /** @internal The system binds how decoded addresses become refs. */
  bindResolver(resolver: (address: ActorAddress) => ActorRef<any>): void {
    this.resolver = resolver
    this.refContext = { resolve: resolver, bounds: null }
  }

  encode(envelope: Envelope): Uint8Array {
    return this.checked(this.pack(this.toTupleEnvelope(envelope)))
  }

  decode(bytes: Uint8Array): Envelope {
    return this.fromTupleEnvelope(this.unpack(bytes))
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    const count = envelopes.length
    const fixedEnd = PREAMBLE_BYTES + count * FIXED_BYTES
    if (fixedEnd > this.maxMessageBytes) throw this.tooLarge(fixedEnd)
    const view = this.scratch(fixedEnd)
    // Refs repeat by identity within a batch (one sender, few targets): index them by object.
    const addressIndex = new Map<ActorRef<any>, number>()
    const addresses: AddressTuple[] = []
    const methodIndex = new Map<string, number>()
    const methods: string[] = []
    const indexOf = (ref: ActorRef<any>): number => {
      let index = addressIndex.get(ref)
      if (index === undefined) {
        index = addresses.length
        addresses.push(toTuple(ref.address))
        addressIndex.set(ref, index)
      }
      return index
    }
    const headersList: Headers[] = []
    const argsList = new Array<unknown>(count)
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
    const tail = this.pack([addresses, methods, headersList, argsList], this.batchPackr)
    if (fixedEnd + tail.byteLength > this.maxMessageBytes) throw this.tooLarge(fixedEnd + tail.byteLength)
    const frame = new Uint8Array(fixedEnd + tail.byteLength)
    frame.set(new Uint8Array(view.buffer, 0, fixedEnd))
    frame.set(tail, fixedEnd)
    return frame
  }

  decodeBatch(bytes: Uint8Array): Envelope[] {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    if (bytes.byteLength > 0 && bytes[0] === FRAME_MARK) return this.fromBinaryBatch(bytes)
    const decoded = this.unpack(bytes, this.batchPackr)
    if (!Array.isArray(decoded)) throw new MalformedFrameError('a batch frame must hold an array of envelopes')
    // A batch's envelopes mostly share a few targets and senders: resolve each distinct address once.
    const refs: RefCache = new Map()
    const envelopes = new Array<Envelope>(decoded.length)
    for (let i = 0; i < decoded.length; i++) envelopes[i] = this.fromTupleEnvelope(decoded[i], refs)
    return envelopes
  }

  /**
   * Test mode: checks that `args` is plain data and returns an encoded-then-decoded copy, so what a
   * handler gets in-process is what it would get across a boundary.
   */
  roundTripArgs(args: unknown[]): unknown[] {
    assertSerializable(args, 'args')
    return this.unpack(this.checked(this.pack(args))) as unknown[]
  }

  private fromBinaryBatch(bytes: Uint8Array): Envelope[] {
    if (bytes.byteLength < PREAMBLE_BYTES || bytes[1] !== FRAME_VERSION) throw new MalformedFrameError('unknown batch frame version')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const count = view.getUint32(4, true)
    const fixedEnd = PREAMBLE_BYTES + count * FIXED_BYTES
    if (fixedEnd > bytes.byteLength) throw new MalformedFrameError('batch frame shorter than its envelope count')
    const tail = this.unpack(bytes.subarray(fixedEnd), this.batchPackr)
    if (!Array.isArray(tail) || tail.length !== 4) throw new MalformedFrameError('malformed batch frame tables')
    const [addresses, methods, headersList, argsList] = tail as unknown[]
    if (!Array.isArray(addresses) || !Array.isArray(methods) || !Array.isArray(headersList) || !Array.isArray(argsList) || argsList.length !== count) {
      throw new MalformedFrameError('malformed batch frame tables')
    }
    const resolve = this.requireResolver()
    // Each distinct address is resolved once per batch.
    const refs = addresses.map((tuple) => resolve(fromTuple(tuple)))
    const envelopes = new Array<Envelope>(count)
    let nextHeaders = 0
    for (let i = 0, at = PREAMBLE_BYTES; i < count; i++, at += FIXED_BYTES) {
      const kind = view.getUint8(at)
      const flags = view.getUint8(at + 1)
      if (kind < EnvelopeKind.Tell || kind > EnvelopeKind.System || kind === EnvelopeKind.Timer) {
        throw new MalformedFrameError(`unknown envelope kind ${kind}`)
      }
      const method = methods[view.getUint16(at + 2, true)]
      const target = refs[view.getUint16(at + 4, true)]
      const sender = (flags & HAS_SENDER) === 0 ? null : refs[view.getUint16(at + 6, true)]
      const headers = (flags & HAS_HEADERS) === 0 ? null : headersList[nextHeaders++]
      const entry: unknown = argsList[i]
      const args = (flags & SINGLE_ARG) === 0 ? entry : [entry]
      if (target === undefined || sender === undefined || typeof method !== 'string' || !Array.isArray(args) || (kind === EnvelopeKind.ReplyError && args.length !== 1)) {
        throw new MalformedFrameError('malformed envelope fields in batch')
      }
      if (headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) throw new MalformedFrameError('malformed envelope headers')
      const payload = kind === EnvelopeKind.ReplyError ? [decodeEncodedError(args[0])] : args
      envelopes[i] = new Envelope(kind as EnvelopeKind, target, sender, view.getFloat64(at + 8, true), view.getFloat64(at + 16, true), headers as Headers | null, method, payload)
    }
    return envelopes
  }

  /** A reusable DataView of at least `bytes` for assembling a frame's fixed block. */
  private scratch(bytes: number): DataView {
    if (this.scratchView.byteLength < bytes) this.scratchView = new DataView(new ArrayBuffer(Math.max(bytes, this.scratchView.byteLength * 2)))
    return this.scratchView
  }

  private toTupleEnvelope(envelope: Envelope): EnvelopeTuple {
    let args = envelope.args
    if (envelope.kind === EnvelopeKind.ReplyError) args = [encodeError(args[0])]
    return [
      envelope.kind,
      toTuple(envelope.target.address),
      envelope.sender === null ? null : toTuple(envelope.sender.address),
      envelope.id,
      envelope.correlationId,
      envelope.headers,
      envelope.method,
      args,
    ]
  }

  private fromTupleEnvelope(value: unknown, refs: RefCache | null = null): Envelope {
    if (!Array.isArray(value) || value.length !== 8) throw new MalformedFrameError('frame is not an envelope tuple')
    const [kind, target, sender, id, correlationId, headers, method, args] = value as unknown[]
    // Timer envelopes are process-local and never cross a boundary.
    if (typeof kind !== 'number' || kind < EnvelopeKind.Tell || kind > EnvelopeKind.System || kind === EnvelopeKind.Timer) {
      throw new MalformedFrameError(`unknown envelope kind ${String(kind)}`)
    }
    if (typeof id !== 'number' || typeof correlationId !== 'number' || typeof method !== 'string' || !Array.isArray(args)) {
      throw new MalformedFrameError('malformed envelope fields')
    }
    if (headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) throw new MalformedFrameError('malformed envelope headers')
    const resolve = this.requireResolver()
    const payload = kind === EnvelopeKind.ReplyError ? [decodeEncodedError(args[0])] : args
    return new Envelope(
      kind as EnvelopeKind,
      resolveCached(resolve, fromTuple(target), refs),
      sender === null ? null : resolveCached(resolve, fromTuple(sender), refs),
      id,
      correlationId,
      headers as Headers | null,
      method,
      payload,
    )
  }

  private pack(value: unknown, packr: Packr = this.packr): Uint8Array {
    try {
      return packr.pack(value)
    } catch (error) {
      throw new NotSerializableError(`payload cannot be encoded: ${(error as Error).message}`, { cause: error })
    }
  }

  private unpack(bytes: Uint8Array, packr: Packr = this.packr): unknown {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    const previous = swapRefContext(this.refContext)
    try {
      return packr.unpack(bytes)
    } catch (error) {
      if (error instanceof MalformedFrameError) throw error
      throw new MalformedFrameError(`frame does not decode: ${(error as Error).message}`, { cause: error })
    } finally {
      swapRefContext(previous)
    }
  }

  private checked(bytes: Uint8Array): Uint8Array {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    return bytes
  }

  private tooLarge(size: number): MessageTooLargeError {
    return new MessageTooLargeError(`encoded message is ${size} bytes; the limit is ${this.maxMessageBytes}`, {
      data: { size, limit: this.maxMessageBytes },
    })
  }

  private requireResolver(): (address: ActorAddress) => ActorRef<any> {
    if (this.resolver === null) throw new MalformedFrameError('codec has no system bound to resolve addresses')
    return this.resolver
  }
}

/** A reply-error's payload as it arrived: checked before its class is rebuilt from the code. */
function decodeEncodedError(value: unknown): Error {
  const encoded = value as Partial<EncodedError> | null
  if (encoded === null || typeof encoded !== 'object' || typeof encoded.code !== 'string' || typeof encoded.message !== 'string') {
    throw new MalformedFrameError('malformed error in a reply')
  }
  return decodeError(encoded as EncodedError)
}

/** Refs resolved while decoding one batch, by path; the full address is compared on a hit. */
type RefCache = Map<string, { address: ActorAddress; ref: ActorRef<any> }>

function resolveCached(resolve: (address: ActorAddress) => ActorRef<any>, address: ActorAddress, refs: RefCache | null): ActorRef<any> {
  if (refs === null) return resolve(address)
  const hit = refs.get(address.path)
  if (hit !== undefined && sameAddress(hit.address, address)) return hit.ref
  const ref = resolve(address)
  // Safe within one batch: decoding is synchronous, so no actor starts or stops between two envelopes.
  refs.set(address.path, { address, ref })
  return ref
}

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null])

/**
 * Walks a payload and throws NotSerializableError at the first value that would not survive a
 * boundary unchanged, naming where it is (`args[0].items[3].fn`).
 */
export function assertSerializable(value: unknown, where: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return
    case 'function':
      throw new NotSerializableError(`${where} is a function; functions cannot cross a thread or node`, { data: { where } })
    case 'symbol':
      throw new NotSerializableError(`${where} is a symbol; symbols cannot cross a thread or node`, { data: { where } })
  }
  if (value === null) return
  const object = value as object
  if (seen.has(object)) throw new NotSerializableError(`${where} is a cyclic reference`, { data: { where } })
  if (object instanceof ActorRef || object instanceof Date || ArrayBuffer.isView(object) || object instanceof Error) return
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) assertSerializable(object[i], `${where}[${i}]`, seen)
      return
    }
    if (object instanceof Set) {
      let i = 0
      for (const item of object) assertSerializable(item, `${where}<set ${i++}>`, seen)
      return
    }
    if (object instanceof Map) {
      throw new NotSerializableError(`${where} is a Map, which arrives as a plain object; send an object or an array of entries`, { data: { where } })
    }
    if (!PLAIN_PROTOTYPES.has(Object.getPrototypeOf(object))) {
      const className = (object as { constructor?: { name?: string } }).constructor?.name ?? 'unknown'
      throw new NotSerializableError(`${where} is an instance of ${className}, which would arrive as a plain object; send plain data`, {
        data: { where, className },
      })
    }
    for (const key of Object.keys(object)) assertSerializable((object as Record<string, unknown>)[key], `${where}.${key}`, seen)
  } finally {
    seen.delete(object)
  }
}
