import { Packr } from 'msgpackr'
import { swapRefContext, type RefDecodeContext } from './ActorRefExtension.ts'
import type { ActorAddress } from './ActorAddress.ts'
import type { ActorRef } from './ActorRef.ts'
import type { Envelope, Headers } from './Envelope.ts'
import { assembleBatchFrame, FIXED_BYTES, FRAME_MARK, PREAMBLE_BYTES, readBatchBlocks, readBatchPreamble, writeBatchBlocks } from './BatchFrame.ts'
import { fromTupleEnvelope, toTupleEnvelope, type AddressTuple, type RefCache } from './EnvelopeTuple.ts'
import { InvalidArgumentError, MalformedFrameError, MessageTooLargeError, NotSerializableError } from './errors.ts'
import { malformed, malformedReason, type ShardBounds } from './FrameValidation.ts'
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
    return this.checked(this.pack(toTupleEnvelope(envelope)))
  }

  /** Decodes one envelope (`encode`'s bytes). Untrusted bytes: anything malformed is ERR_MALFORMED_FRAME with `data.reason`. */
  decode(bytes: Uint8Array): Envelope {
    return fromTupleEnvelope(this.unpack(bytes, this.packr, MsgpackDialect.troupe), this.resolver, this.bounds, null)
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    const count = envelopes.length
    const fixedEnd = PREAMBLE_BYTES + count * FIXED_BYTES
    if (fixedEnd > this.maxMessageBytes) throw this.tooLarge(fixedEnd)
    const view = this.scratch(fixedEnd)
    const addresses: AddressTuple[] = []
    const methods: string[] = []
    const headersList: Headers[] = []
    const argsList = new Array<unknown>(count)
    writeBatchBlocks(view, envelopes, addresses, methods, headersList, argsList)
    const tail = this.pack([addresses, methods, headersList, argsList], this.batchPackr)
    if (fixedEnd + tail.byteLength > this.maxMessageBytes) throw this.tooLarge(fixedEnd + tail.byteLength)
    this.checkRecordDefinitions(tail)
    return assembleBatchFrame(view, fixedEnd, tail, this.headroom)
  }

  decodeBatch(bytes: Uint8Array): Envelope[] {
    if (bytes.byteLength > this.maxMessageBytes) throw this.tooLarge(bytes.byteLength)
    if (bytes.byteLength > 0 && bytes[0] === FRAME_MARK) return this.fromBinaryBatch(bytes)
    const decoded = this.unpack(bytes, this.batchPackr, MsgpackDialect.records)
    if (!Array.isArray(decoded)) throw malformed('tables', 'a batch frame must hold an array of envelopes')
    // A batch's envelopes mostly share a few targets and senders: resolve each distinct address once.
    const refs: RefCache = new Map()
    const envelopes = new Array<Envelope>(decoded.length)
    for (let i = 0; i < decoded.length; i++) envelopes[i] = fromTupleEnvelope(decoded[i], this.resolver, this.bounds, refs)
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

  private fromBinaryBatch(bytes: Uint8Array): Envelope[] {
    const count = readBatchPreamble(bytes)
    const tail = this.unpack(bytes.subarray(PREAMBLE_BYTES + count * FIXED_BYTES), this.batchPackr, MsgpackDialect.records)
    return readBatchBlocks(bytes, count, tail, this.resolver, this.bounds)
  }

  /** A reusable DataView of at least `bytes` for assembling a frame's fixed block. */
  private scratch(bytes: number): DataView {
    if (this.scratchView.byteLength < bytes) this.scratchView = new DataView(new ArrayBuffer(Math.max(bytes, this.scratchView.byteLength * 2)))
    return this.scratchView
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
}
