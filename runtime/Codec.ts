import { Packr } from 'msgpackr'
import { swapRefContext, type RefDecodeContext } from './ActorRefExtension.ts'
import { sameAddress, type ActorAddress } from './ActorAddress.ts'
import { ActorRef } from './ActorRef.ts'
import { Envelope, EnvelopeKind, type Headers } from './Envelope.ts'
import { decodeError, encodeError, InvalidArgumentError, MalformedFrameError, MessageTooLargeError, NotSerializableError, type EncodedError } from './errors.ts'
import { checkAddressTuple, checkEnvelope, checkHeaders, malformed, malformedReason, type ShardBounds } from './FrameValidation.ts'
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORDS, MIN_RECORD_DEFINITION_BYTES, MsgpackDialect, scanMsgpack } from './MsgpackGuard.ts'
import { assertSerializable } from './Serializable.ts'

export interface CodecOptions {
  /** Largest encoded envelope (or batch) accepted, in bytes. Default 1 MiB. */
  readonly maxMessageBytes?: number
  /** Most msgpack containers open at once in a decoded frame (the frame's own tables count). Default 64. */
  readonly maxDepth?: number
  /**
   * Most msgpackr record definitions in one batch frame (each distinct payload object shape is
   * one). A frame with more is refused by the receiver (ERR_MALFORMED_FRAME, reason `records`);
   * the sender refuses to build one (MessageTooLargeError, so Remoting splits the batch). Default 256.
   */
  readonly maxRecordDefinitions?: number
  /** This node's name, for `shardCount`. */
  readonly localNode?: string
  /** How many shards this node runs: a frame naming shard `shardCount` or above of `localNode` is refused. */
  readonly shardCount?: number
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
  readonly maxDepth: number
  readonly maxRecordDefinitions: number
  private readonly bounds: ShardBounds | null
  private readonly packr = new Packr({ useRecords: false, moreTypes: true })
  private readonly batchPackr = new Packr({ useRecords: true, maxSharedStructures: 0, moreTypes: true })
  private resolver: ((address: ActorAddress) => ActorRef<any>) | null = null
  /** What the ActorRef extension uses while this codec decodes. */
  private refContext: RefDecodeContext | null = null
  private scratchView = new DataView(new ArrayBuffer(PREAMBLE_BYTES + 64 * FIXED_BYTES))
  /** Free bytes left in front of each batch frame, in the same ArrayBuffer (see `reserveFrameHeadroom`). */
  private headroom = 0

  constructor(options: CodecOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH
    this.maxRecordDefinitions = options.maxRecordDefinitions ?? DEFAULT_MAX_RECORDS
    this.bounds = options.localNode !== undefined && options.shardCount !== undefined ? { node: options.localNode, shardCount: options.shardCount } : null
  }

  /** Leaves `bytes` (≤ 512; only grows) free in front of every batch frame, in its own ArrayBuffer: the NATS link writes its header there instead of copying the frame. */
  reserveFrameHeadroom(bytes: number): void {
    if (!(bytes >= 0 && bytes <= 512)) throw new InvalidArgumentError(`frame headroom must be 0..512 bytes, got ${bytes}`)
    this.headroom = Math.max(this.headroom, Math.ceil(bytes))
  }

  /** The bytes free in front of every batch frame this codec encodes. */
  get frameHeadroom(): number {
    return this.headroom
  }

  /** @internal The system binds how decoded addresses become refs. */
  bindResolver(resolver: (address: ActorAddress) => ActorRef<any>): void {
    this.resolver = resolver
    this.refContext = { resolve: resolver, bounds: this.bounds }
  }

  encode(envelope: Envelope): Uint8Array {
    return this.checked(this.pack(this.toTupleEnvelope(envelope)))
  }

  /** Decodes one envelope (`encode`'s bytes). Untrusted bytes: anything malformed is ERR_MALFORMED_FRAME with `data.reason`. */
  decode(bytes: Uint8Array): Envelope {
    return this.fromTupleEnvelope(this.unpack(bytes, this.packr, MsgpackDialect.troupe))
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
    this.checkRecordDefinitions(tail)
    const headroom = this.headroom
    const frame = headroom === 0 ? new Uint8Array(fixedEnd + tail.byteLength) : new Uint8Array(new ArrayBuffer(headroom + fixedEnd + tail.byteLength), headroom, fixedEnd + tail.byteLength)
    frame.set(new Uint8Array(view.buffer, 0, fixedEnd))
    frame.set(tail, fixedEnd)
    return frame
  }

  decodeBatch(bytes: Uint8Array): Envelope[] {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    if (bytes.byteLength > 0 && bytes[0] === FRAME_MARK) return this.fromBinaryBatch(bytes)
    const decoded = this.unpack(bytes, this.batchPackr, MsgpackDialect.records)
    if (!Array.isArray(decoded)) throw malformed('tables', 'a batch frame must hold an array of envelopes')
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
    return this.unpack(this.checked(this.pack(args)), this.packr, null) as unknown[]
  }

  /**
   * Every field is checked before anything is returned, so a frame is delivered whole or not at
   * all (docs/protocol.md lists the reasons).
   */
  private fromBinaryBatch(bytes: Uint8Array): Envelope[] {
    if (bytes.byteLength < PREAMBLE_BYTES) throw malformed('truncated', 'batch frame shorter than its preamble')
    if (bytes[1] !== FRAME_VERSION) throw malformed('version', `unknown batch frame version ${bytes[1]}`)
    if (bytes[2] !== 0 || bytes[3] !== 0) throw malformed('reserved', 'reserved preamble bytes must be 0')
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const count = view.getUint32(4, true)
    if (count > (bytes.byteLength - PREAMBLE_BYTES) / FIXED_BYTES) throw malformed('count', 'batch frame shorter than its envelope count')
    const fixedEnd = PREAMBLE_BYTES + count * FIXED_BYTES
    const tail = this.unpack(bytes.subarray(fixedEnd), this.batchPackr, MsgpackDialect.records)
    if (!Array.isArray(tail) || tail.length !== 4) throw malformed('tables', 'malformed batch frame tables')
    const [addresses, methods, headersList, argsList] = tail as unknown[]
    if (!Array.isArray(addresses) || !Array.isArray(methods) || !Array.isArray(headersList) || !Array.isArray(argsList)) {
      throw malformed('tables', 'malformed batch frame tables')
    }
    if (addresses.length > MAX_TABLE || methods.length > MAX_TABLE) throw malformed('tables', 'batch frame tables too large')
    if (argsList.length !== count) throw malformed('args', 'batch frame args list does not match its envelope count')
    for (let i = 0; i < headersList.length; i++) checkHeaders(headersList[i])
    const resolve = this.requireResolver()
    // Each distinct address is checked and resolved once per batch.
    const refs = new Array<ActorRef<any>>(addresses.length)
    for (let i = 0; i < addresses.length; i++) refs[i] = resolve(checkAddressTuple(addresses[i], this.bounds))
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
    if (!Array.isArray(value) || value.length !== 8) throw malformed('tables', 'frame is not an envelope tuple')
    const [kind, target, sender, id, correlationId, headers, method, args] = value as unknown[]
    // Timer envelopes are process-local and never cross a boundary.
    if (typeof kind !== 'number' || !Number.isInteger(kind) || kind < EnvelopeKind.Tell || kind > EnvelopeKind.System || kind === EnvelopeKind.Timer) {
      throw malformed('kind', `unknown envelope kind ${String(kind)}`)
    }
    if (typeof id !== 'number') throw malformed('id', 'envelope id must be a number')
    if (typeof correlationId !== 'number') throw malformed('correlation', 'correlation id must be a number')
    if (!Array.isArray(args)) throw malformed('args', 'envelope args must be an array')
    if (headers !== null) checkHeaders(headers)
    checkEnvelope(kind, method, sender !== null, id, correlationId, args)
    const resolve = this.requireResolver()
    const targetRef = resolveCached(resolve, checkAddressTuple(target, this.bounds), refs)
    const senderRef = sender === null ? null : resolveCached(resolve, checkAddressTuple(sender, this.bounds), refs)
    const payload = kind === EnvelopeKind.ReplyError ? [decodeError(args[0] as EncodedError)] : args
    return new Envelope(kind as EnvelopeKind, targetRef, senderRef, id, correlationId, headers as Headers | null, method as string, payload)
  }

  private pack(value: unknown, packr: Packr = this.packr): Uint8Array {
    try {
      return packr.pack(value)
    } catch (error) {
      throw new NotSerializableError(`payload cannot be encoded: ${(error as Error).message}`, { cause: error })
    }
  }

  /** `dialect` null: bytes this codec just wrote (test mode's round trip), not scanned. */
  private unpack(bytes: Uint8Array, packr: Packr, dialect: 0 | 1 | 2 | null): unknown {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    // msgpackr trusts declared lengths and recurses without a limit: the guard goes first.
    if (dialect !== null) scanMsgpack(bytes, dialect, this.maxDepth, Infinity, this.maxRecordDefinitions)
    const previous = swapRefContext(this.refContext)
    try {
      return packr.unpack(bytes)
    } catch (error) {
      if (error instanceof MalformedFrameError) throw error
      throw malformed('decode', `frame does not decode: ${(error as Error).message}`, error)
    } finally {
      swapRefContext(previous)
    }
  }

  /**
   * Never send a frame the receiver's guard refuses for its record definitions: too many is
   * MessageTooLargeError (Remoting splits the batch; one envelope still over is undeliverable).
   * A tail shorter than 4 bytes per allowed definition cannot hold too many: no scan then.
   */
  private checkRecordDefinitions(tail: Uint8Array): void {
    const limit = this.maxRecordDefinitions
    if (tail.byteLength < MIN_RECORD_DEFINITION_BYTES * (limit + 1)) return
    try {
      scanMsgpack(tail, MsgpackDialect.records, this.maxDepth, Infinity, limit)
    } catch (error) {
      // Other refusals (depth) are the receiver's to report, as before this check.
      if (malformedReason(error) !== 'records') return
      throw new MessageTooLargeError(`a batch frame holds at most ${limit} record definitions (distinct payload object shapes)`, {
        data: { reason: 'records', limit },
      })
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
    if (this.resolver === null) throw malformed('resolver', 'codec has no system bound to resolve addresses')
    return this.resolver
  }
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
