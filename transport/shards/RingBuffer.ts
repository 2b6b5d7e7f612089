import { InvalidArgumentError, MalformedFrameError } from '../../runtime/index.ts'
import { Doorbell } from './Doorbell.ts'

/*
 * Shared memory layout (all little-endian Int32 words; the control block is 320 bytes):
 *
 *   word  0..3   magic, version, capacity, flags            (written once by `create`)
 *   word 16      tail: producer position (free-running)     (its own 64-byte line: producer writes)
 *   word 32      head: consumer position (free-running)     (its own line: consumer writes)
 *   word 48..49  data doorbell  (consumer parks here, producer rings)
 *   word 64..65  space doorbell (producer parks here, consumer rings)
 *   byte 320..   data: `capacity` bytes, a power of two
 *
 * Positions are byte counters that run freely and wrap at 2^32 (Int32 arithmetic with `| 0`); the
 * offset in the data area is `position & (capacity - 1)` and the bytes in use are `tail - head`
 * (exact while capacity <= 2^30). Hot words live on separate cache lines so the producer's tail
 * stores do not invalidate the line the consumer's head stores land on, and vice versa.
 *
 * Records are 4-byte aligned: a 4-byte header word then the payload, padded to a multiple of 4.
 * Header: bits 30..31 kind, bits 0..29 payload length.
 *   WHOLE  a complete frame; the common case. Its payload is contiguous, so `read` returns a view.
 *   FIRST  first chunk of a frame too big for one record; a second word holds the frame's total length.
 *   MORE   a following chunk; the frame is complete when the chunks add up to the total.
 *   PAD    wrap marker: the rest of the data area up to its end is unused; continue at offset 0.
 *
 * Wrap-around: a whole frame never straddles the end of the data area. When it does not fit before
 * the end, the producer writes a PAD header there and puts the frame at offset 0 (this wastes at most
 * one record's worth of bytes but lets the consumer hand out zero-copy views, which a split copy would
 * not). A whole frame's record is limited to capacity/2, which guarantees it always fits in an empty
 * ring whatever the current offset: if it does not fit in the `toEnd` bytes before the end, then the
 * offset is above capacity/2, so the bytes from 0 up to the offset (free in an empty ring) hold it.
 *
 * Chunking: a frame whose record would exceed capacity/2 (including frames larger than the whole ring)
 * is split into FIRST/MORE chunks sized to whatever contiguous space is free, and the consumer copies
 * them into one freshly allocated frame. Chunks of one frame are never interleaved with other frames.
 */

const MAGIC = 0x54524e47 // 'TRNG'
const VERSION = 1

const W_MAGIC = 0
const W_VERSION = 1
const W_CAPACITY = 2
const W_FLAGS = 3
const W_TAIL = 16
const W_HEAD = 32
const W_DATA_BELL = 48
const W_SPACE_BELL = 64
const CONTROL_BYTES = 320

/** `flags` bits: the ring was created with an external doorbell, so every endpoint must be given it. */
const FLAG_EXTERNAL_DATA_BELL = 1
const FLAG_EXTERNAL_SPACE_BELL = 2

const KIND_WHOLE = 0
const KIND_FIRST = 1
const KIND_MORE = 2
const KIND_PAD = 3
const KIND_SHIFT = 30
const LENGTH_MASK = (1 << KIND_SHIFT) - 1
const PAD_HEADER = (KIND_PAD << KIND_SHIFT) | 0
const FIRST_HEADER = KIND_FIRST << KIND_SHIFT
const MORE_HEADER = KIND_MORE << KIND_SHIFT

/** Smallest chunk payload worth a record (unless the frame's remainder is smaller). */
const MIN_CHUNK = 16

export const MIN_RING_CAPACITY = 64
export const MAX_RING_CAPACITY = 1 << 30
/** Largest frame accepted at all (its length must fit in a Uint32 word of the FIRST chunk). */
const MAX_FRAME_BYTES = 0xffffffff
/** Frames up to this many bytes are copied with a loop; above it one `TypedArray.set` call is cheaper (measured). */
const SMALL_COPY = 8

const DEFAULT_SPIN = 1024

export interface RingBufferOptions {
  /**
   * Polls of the shared index before a waiting side parks (spin-then-park). A park costs both sides
   * a futex round trip (a few µs of CPU, tens of µs of latency), so spinning for about as long as a
   * park costs wins when the other side is about to publish and wastes little when it is not.
   * Default 1024 polls (a few µs). Lower it when threads outnumber cores.
   */
  readonly spinIterations?: number
  /**
   * Doorbell the consumer parks on and the producer rings, shared by several rings so one consumer
   * thread can park once for all its inbound rings. Default: the one built into the ring. A ring
   * created with one must be attached with the same one (send its `.buffer` along).
   */
  readonly dataBell?: Doorbell
  /** Doorbell the producer parks on when the ring is full and the consumer rings after freeing space. */
  readonly spaceBell?: Doorbell
}

export interface RingBufferCreateOptions extends RingBufferOptions {
  /**
   * Initial value of both positions. Only tests need it: starting near 2^31 or 2^32 exercises the
   * wrap of the free-running counters in a short run. Rounded down to a multiple of 4. Default 0.
   */
  readonly startPosition?: number
}

/**
 * Counters of one endpoint. Each side counts what it does in plain fields (no shared-memory traffic
 * per frame), so the producer's figures are read on the producer's thread and the consumer's on the
 * consumer's; `bytesUsed` comes from the shared indices and is right on either side.
 */
export interface RingStats {
  readonly capacity: number
  /** Bytes between head and tail right now (records, headers and padding included). */
  readonly bytesUsed: number
  readonly framesWritten: number
  /** Payload bytes accepted by the producer. */
  readonly bytesWritten: number
  readonly framesRead: number
  /** Payload bytes delivered to the consumer. */
  readonly bytesRead: number
  /** Frames that went through the ring in chunks (written on the producer side, read on the consumer side). */
  readonly chunkedFrames: number
  /** Writes refused because the ring was full (each refused call counts). */
  readonly fullEvents: number
  /** Times this endpoint actually slept (after spinning) waiting for the other side. */
  readonly parks: number
  /** Parks that ended because the other side rang (the rest timed out or were pre-empted). */
  readonly wakes: number
  /** Notifies this endpoint sent to wake the other side (one per park at most, never one per frame). */
  readonly notifies: number
}

/** Zero-allocation drain callback: the frame is `buffer[offset, offset + length)`. */
export type FrameCallback = (buffer: Uint8Array, offset: number, length: number) => void

function recordBytes(headerBytes: number, length: number): number {
  return (headerBytes + length + 3) & ~3
}

function roundUpToPowerOfTwo(n: number): number {
  let capacity = MIN_RING_CAPACITY
  while (capacity < n) capacity *= 2
  return capacity
}

/**
 * Lock-free single-producer/single-consumer ring of variable-length byte frames in a
 * SharedArrayBuffer, one per directed pair of threads. One thread writes (`tryWrite`,
 * `tryWriteMany`, `reserve`/`publish`, `flush`, `waitForSpace*`), one thread reads (`read`, `drain`,
 * `release`, `waitForData*`); the same object may play both roles in one thread (tests do).
 *
 * Memory ordering. Frame bytes and headers are written and read with plain typed-array accesses;
 * only the two positions and the doorbells use Atomics. ECMAScript's memory model makes an
 * `Atomics.store` synchronize-with an `Atomics.load` that reads its value, and plain accesses are
 * ordered with the atomic ones around them in their own thread. So:
 *  - producer: plain writes of header+payload, then `Atomics.store(tail)` (release). Consumer:
 *    `Atomics.load(tail)` (acquire), then plain reads of records below that tail — they see the bytes.
 *  - consumer: plain reads of a record, then `Atomics.store(head)`. Producer: `Atomics.load(head)`,
 *    then plain writes into space below that head — they cannot race with the consumer's reads,
 *    which happened before the store it observed.
 * Each side caches the other's position and reloads it only when the cached value says "empty" or
 * "full", so a steady stream costs one shared load per batch rather than one per frame.
 *
 * Never blocks, never loses: `tryWrite` returns false when the frame does not fit (the caller keeps
 * it, waits with `waitForSpace*`, retries); nothing else drops a frame.
 *
 * Meant for shards: one ring per directed pair of threads; a shard's inbound rings share one data
 * `Doorbell` so it parks once for all of them (on the doorbell, with `Atomics.waitAsync` in its
 * event loop), and its outbox waits for room with `waitForSpaceAsync`. Frames are whole encoded
 * batches, so the per-frame cost here is paid once per batch. `stats()` feeds per-shard metrics.
 */
export class RingBuffer {
  /**
   * Creates a ring with at least `capacityBytes` of data space (rounded up to a power of two,
   * 64 B .. 1 GiB). Send `.buffer` (and any external doorbell's buffer) to the other thread, which
   * calls `RingBuffer.attach`.
   */
  static create(capacityBytes: number, options: RingBufferCreateOptions = {}): RingBuffer {
    if (!Number.isInteger(capacityBytes) || capacityBytes < 1 || capacityBytes > MAX_RING_CAPACITY) {
      throw new InvalidArgumentError(`ring capacity must be an integer between 1 and ${MAX_RING_CAPACITY} bytes, got ${capacityBytes}`)
    }
    const capacity = roundUpToPowerOfTwo(capacityBytes)
    const buffer = new SharedArrayBuffer(CONTROL_BYTES + capacity)
    const control = new Int32Array(buffer, 0, CONTROL_BYTES >> 2)
    // Records are 4-byte aligned, so positions are too.
    const start = (options.startPosition ?? 0) & ~3
    control[W_MAGIC] = MAGIC
    control[W_VERSION] = VERSION
    control[W_CAPACITY] = capacity
    control[W_FLAGS] = (options.dataBell === undefined ? 0 : FLAG_EXTERNAL_DATA_BELL) | (options.spaceBell === undefined ? 0 : FLAG_EXTERNAL_SPACE_BELL)
    // Plain writes suffice: the buffer reaches another thread through postMessage, which orders
    // them before anything that thread does with it.
    control[W_TAIL] = start
    control[W_HEAD] = start
    return new RingBuffer(buffer, capacity, options)
  }

  /** Opens a ring created by `RingBuffer.create` on another thread (pass the same external doorbells). */
  static attach(buffer: SharedArrayBuffer, options: RingBufferOptions = {}): RingBuffer {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < CONTROL_BYTES + MIN_RING_CAPACITY) {
      throw new InvalidArgumentError('a ring buffer is a SharedArrayBuffer made by RingBuffer.create')
    }
    const control = new Int32Array(buffer, 0, CONTROL_BYTES >> 2)
    if (Atomics.load(control, W_MAGIC) !== MAGIC || control[W_VERSION] !== VERSION) {
      throw new InvalidArgumentError('the SharedArrayBuffer does not hold a ring buffer of this version')
    }
    const capacity = control[W_CAPACITY] as number
    if (capacity + CONTROL_BYTES !== buffer.byteLength) throw new InvalidArgumentError('ring buffer size does not match its header')
    const flags = control[W_FLAGS] as number
    if (((flags & FLAG_EXTERNAL_DATA_BELL) !== 0) !== (options.dataBell !== undefined)) {
      throw new InvalidArgumentError('the ring was created with an external data doorbell exactly when it must be attached with one')
    }
    if (((flags & FLAG_EXTERNAL_SPACE_BELL) !== 0) !== (options.spaceBell !== undefined)) {
      throw new InvalidArgumentError('the ring was created with an external space doorbell exactly when it must be attached with one')
    }
    return new RingBuffer(buffer, capacity, options)
  }

  /** The shared memory to send to the other thread. */
  readonly buffer: SharedArrayBuffer
  /** Data space in bytes (a power of two). */
  readonly capacity: number
  /** Largest frame written as one record (and read back as a zero-copy view); larger frames are chunked. */
  readonly maxWholeFrameBytes: number
  /** Doorbell the consumer parks on. */
  readonly dataBell: Doorbell
  /** Doorbell the producer parks on. */
  readonly spaceBell: Doorbell

  private readonly control: Int32Array
  /** The data area as bytes; `read` returns views of it. */
  private readonly bytes: Uint8Array
  /** The same area as words, for headers (records are 4-byte aligned). */
  private readonly words: Int32Array
  private readonly mask: number
  private readonly spin: number

  // Producer state (only the producer thread touches these).
  /** Tail including staged (written but unpublished) records. */
  private tail: number
  private publishedTail: number
  /** Last head seen; free space is at least `capacity - (tail - cachedHead)`. */
  private cachedHead: number
  /** A chunked frame that did not fit in one go (a private copy of its unwritten part), or null. */
  private chunkSource: Uint8Array | null = null
  private chunkOffset = 0
  /** Whether the FIRST chunk of `chunkSource` is already out (then `chunkTotal` is the frame's size). */
  private chunkStarted = false
  private chunkTotal = 0

  // Consumer state.
  /** Head including frames handed out but not yet released. */
  private head: number
  private committedHead: number
  /** Last tail seen; everything below it is readable. */
  private cachedTail: number
  private assembly: Uint8Array | null = null
  private assembled = 0

  // Counters (see RingStats).
  private framesWritten = 0
  private bytesWritten = 0
  private framesRead = 0
  private bytesRead = 0
  private chunkedFrames = 0
  private fullEvents = 0
  private parks = 0
  private wakes = 0
  private notifies = 0

  private constructor(buffer: SharedArrayBuffer, capacity: number, options: RingBufferOptions) {
    this.buffer = buffer
    this.capacity = capacity
    this.maxWholeFrameBytes = capacity / 2 - 4
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES >> 2)
    this.bytes = new Uint8Array(buffer, CONTROL_BYTES, capacity)
    this.words = new Int32Array(buffer, CONTROL_BYTES, capacity >> 2)
    this.mask = capacity - 1
    this.spin = options.spinIterations ?? DEFAULT_SPIN
    this.dataBell = options.dataBell ?? new Doorbell(this.control, W_DATA_BELL)
    this.spaceBell = options.spaceBell ?? new Doorbell(this.control, W_SPACE_BELL)
    this.tail = this.publishedTail = Atomics.load(this.control, W_TAIL)
    this.head = this.committedHead = Atomics.load(this.control, W_HEAD)
    this.cachedHead = this.head
    this.cachedTail = this.tail
  }

  // ---------------------------------------------------------------------------------------------
  // Producer

  /**
   * Copies `frame` into the ring and publishes it. Returns false, writing nothing, when it does not
   * fit (or an earlier chunked frame is still going out); the caller keeps the frame and retries.
   * No allocation.
   *
   * A frame larger than `maxWholeFrameBytes` goes out in chunks: this writes the chunks that fit and
   * returns true — the ring has then taken the frame (a copy of any unwritten rest) and pushes the
   * rest on later `flush`/`tryWrite`/`tryWriteMany` calls, before any later frame. Either way the
   * caller may reuse `frame` as soon as this returns.
   */
  tryWrite(frame: Uint8Array): boolean {
    if (this.chunkSource !== null && !this.writeChunks()) {
      this.publish()
      this.fullEvents++
      return false
    }
    const written = this.stage(frame)
    this.publish()
    if (!written) this.fullEvents++
    return written
  }

  /**
   * Writes `frames[start..end)` in order, as many as fit, and publishes them with a single tail store
   * (and at most one wake-up). Returns how many were taken; the caller keeps the rest. No allocation.
   */
  tryWriteMany(frames: readonly Uint8Array[], start = 0, end = frames.length): number {
    let index = start
    if (this.chunkSource === null || this.writeChunks()) {
      while (index < end && this.stage(frames[index] as Uint8Array)) {
        index++
        if (this.chunkSource !== null) break
      }
    }
    this.publish()
    if (index < end) this.fullEvents++
    return index - start
  }

  /**
   * Reserves a whole-frame record of `length` bytes (at most `maxWholeFrameBytes`) for the caller to
   * fill in place — e.g. an encoder writing straight into the ring. Returns the payload's offset in
   * `frameBytes()`, or -1 when it does not fit. The record becomes visible at the next `publish`
   * (which `tryWrite`/`tryWriteMany`/`flush` also do), so fill it before calling any of them.
   */
  reserve(length: number): number {
    if (!Number.isInteger(length) || length < 0 || length > this.maxWholeFrameBytes) {
      throw new InvalidArgumentError(`reserve takes 0..${this.maxWholeFrameBytes} bytes, got ${length}`)
    }
    if (this.chunkSource !== null && !this.writeChunks()) {
      this.publish()
      this.fullEvents++
      return -1
    }
    const offset = this.stageRecord(length)
    if (offset < 0) {
      // The end of a chunked frame may have just been staged: let the consumer have it.
      this.publish()
      this.fullEvents++
    } else {
      this.framesWritten++
      this.bytesWritten += length
    }
    return offset
  }

  /** The data area the offsets returned by `reserve` (and given to `drain` callbacks) refer to. */
  frameBytes(): Uint8Array {
    return this.bytes
  }

  /** Makes staged records visible to the consumer, waking it if it is parked. */
  publish(): void {
    if (this.tail === this.publishedTail) return
    this.publishedTail = this.tail
    // Release: every header and payload byte written above is visible to a consumer that loads this tail.
    Atomics.store(this.control, W_TAIL, this.tail)
    if (this.dataBell.ring()) this.notifies++
  }

  /**
   * Pushes out the rest of a chunked frame as far as space allows. Returns true when nothing is left
   * pending (then `tryWrite` of a new frame can succeed again).
   */
  flush(): boolean {
    const done = this.chunkSource === null || this.writeChunks()
    this.publish()
    return done
  }

  /** Bytes of a chunked frame still waiting to go into the ring. */
  get pendingBytes(): number {
    return this.chunkSource === null ? 0 : this.chunkSource.length - this.chunkOffset
  }

  /**
   * Whether writing a frame of `length` bytes can make progress now: it fits (or, for a chunked frame
   * or a pending chunked rest, at least one more chunk fits).
   */
  canWrite(length: number): boolean {
    if (this.chunkSource !== null) return this.chunkFits(this.chunkSource.length - this.chunkOffset, this.chunkStarted)
    if (length > this.maxWholeFrameBytes) return this.chunkFits(length, false)
    return this.roomFor(recordBytes(4, length))
  }

  /**
   * Blocks (spin, then `Atomics.wait` on the space doorbell) until `canWrite(length)` or a park
   * times out after `timeoutMs`. For threads that may block (workers); returns whether it can write.
   * A wake-up without enough room parks again.
   */
  waitForSpace(length: number, timeoutMs = Infinity): boolean {
    for (;;) {
      if (this.spinUntilWritable(length)) return true
      const token = this.spaceBell.prepare()
      if (this.canWrite(length)) {
        this.spaceBell.cancel()
        return true
      }
      this.parks++
      const reason = this.spaceBell.wait(token, timeoutMs)
      if (reason === 'ok') this.wakes++
      else if (reason === 'timed-out') return this.canWrite(length)
    }
  }

  /** Like `waitForSpace`, parking with `Atomics.waitAsync` so the thread's event loop keeps running. */
  async waitForSpaceAsync(length: number, timeoutMs = Infinity): Promise<boolean> {
    for (;;) {
      if (this.spinUntilWritable(length)) return true
      const token = this.spaceBell.prepare()
      if (this.canWrite(length)) {
        this.spaceBell.cancel()
        return true
      }
      this.parks++
      const reason = await this.spaceBell.waitAsync(token, timeoutMs)
      if (reason === 'ok') this.wakes++
      else if (reason === 'timed-out') return this.canWrite(length)
    }
  }

  private spinUntilWritable(length: number): boolean {
    for (let i = 0; i <= this.spin; i++) if (this.canWrite(length)) return true
    return false
  }

  /** Whether `bytesNeeded` free bytes exist, reloading the consumer's head only when the cache says no. */
  private roomFor(bytesNeeded: number): boolean {
    const offset = this.tail & this.mask
    const toEnd = this.capacity - offset
    // A record that does not fit before the end needs the PAD skip as well.
    const need = bytesNeeded <= toEnd ? bytesNeeded : toEnd + bytesNeeded
    if (this.capacity - ((this.tail - this.cachedHead) | 0) >= need) return true
    // Acquire: the consumer is done reading everything below this head.
    this.cachedHead = Atomics.load(this.control, W_HEAD)
    return this.capacity - ((this.tail - this.cachedHead) | 0) >= need
  }

  /** Stages one frame (whole or the start of a chunked one). False when a whole frame does not fit. */
  private stage(frame: Uint8Array): boolean {
    const length = frame.length
    if (length > this.maxWholeFrameBytes) {
      if (length > MAX_FRAME_BYTES) throw new InvalidArgumentError(`frames are limited to ${MAX_FRAME_BYTES} bytes, got ${length}`)
      // Refused like a whole frame when not even its first chunk fits: the ring only takes (and
      // copies) a frame it has started to send.
      if (!this.chunkFits(length, false)) return false
      this.framesWritten++
      this.bytesWritten += length
      this.chunkedFrames++
      this.chunkSource = frame
      this.chunkOffset = 0
      this.chunkStarted = false
      this.chunkTotal = length
      if (!this.writeChunks()) {
        // Keep a private copy of what is left so the caller may reuse its buffer.
        this.chunkSource = frame.slice(this.chunkOffset)
        this.chunkOffset = 0
      }
      return true
    }
    const offset = this.stageRecord(length)
    if (offset < 0) return false
    const bytes = this.bytes
    if (length <= SMALL_COPY) for (let i = 0; i < length; i++) bytes[offset + i] = frame[i] as number
    else bytes.set(frame, offset)
    this.framesWritten++
    this.bytesWritten += length
    return true
  }

  /** Writes a WHOLE header for `length` bytes (padding to the start if needed); returns the payload offset or -1. */
  private stageRecord(length: number): number {
    const record = recordBytes(4, length)
    if (!this.roomFor(record)) return -1
    let offset = this.tail & this.mask
    const toEnd = this.capacity - offset
    if (record > toEnd) {
      this.words[offset >> 2] = PAD_HEADER
      this.tail = (this.tail + toEnd) | 0
      offset = 0
    }
    this.words[offset >> 2] = length
    this.tail = (this.tail + record) | 0
    return offset + 4
  }

  /** Whether one more chunk of a frame with `remaining` bytes left fits now (same rule as `writeChunks`). */
  private chunkFits(remaining: number, started: boolean): boolean {
    const need = recordBytes(started ? 4 : 8, Math.min(MIN_CHUNK, remaining))
    const offset = this.tail & this.mask
    const toEnd = this.capacity - offset
    let free = this.capacity - ((this.tail - this.cachedHead) | 0)
    if (Math.min(toEnd, free) < need && free - toEnd < need) {
      this.cachedHead = Atomics.load(this.control, W_HEAD)
      free = this.capacity - ((this.tail - this.cachedHead) | 0)
    }
    return Math.min(toEnd, free) >= need || free - toEnd >= need
  }

  /**
   * Stages as many chunks of the pending frame as fit, each sized to the contiguous free space.
   * Returns true when the whole frame is out. Liveness: in an empty ring either `toEnd` holds a
   * minimal chunk or, after a PAD, the `offset >= capacity/2 >= need` bytes at the start do.
   */
  private writeChunks(): boolean {
    const source = this.chunkSource as Uint8Array
    const capacity = this.capacity
    while (this.chunkOffset < source.length) {
      const remaining = source.length - this.chunkOffset
      const headerBytes = this.chunkStarted ? 4 : 8
      const need = recordBytes(headerBytes, Math.min(MIN_CHUNK, remaining))
      let offset = this.tail & this.mask
      const toEnd = capacity - offset
      let free = capacity - ((this.tail - this.cachedHead) | 0)
      if (Math.min(toEnd, free) < need) {
        this.cachedHead = Atomics.load(this.control, W_HEAD)
        free = capacity - ((this.tail - this.cachedHead) | 0)
      }
      if (Math.min(toEnd, free) < need) {
        if (free - toEnd < need) return false
        this.words[offset >> 2] = PAD_HEADER
        this.tail = (this.tail + toEnd) | 0
        offset = 0
        free -= toEnd
      }
      const room = Math.min(capacity - offset, free)
      const length = Math.min(remaining, room - headerBytes)
      const words = this.words
      if (this.chunkStarted) {
        words[offset >> 2] = MORE_HEADER | length
      } else {
        words[offset >> 2] = FIRST_HEADER | length
        words[(offset >> 2) + 1] = this.chunkTotal | 0
        this.chunkStarted = true
      }
      this.bytes.set(source.subarray(this.chunkOffset, this.chunkOffset + length), offset + headerBytes)
      this.chunkOffset += length
      this.tail = (this.tail + recordBytes(headerBytes, length)) | 0
    }
    this.chunkSource = null
    this.chunkOffset = 0
    this.chunkStarted = false
    return true
  }

  // ---------------------------------------------------------------------------------------------
  // Consumer

  /**
   * Returns the next frame, or null when none is complete. A whole frame is a view into the ring:
   * valid until the next `read`, `drain`, `release` or `waitForData*` call, which hands its space
   * back to the producer — copy it (`.slice()`) to keep it. A chunked frame is a fresh copy the
   * caller owns. One view object per call; `drain` allocates none. Returning null or a chunked
   * frame also releases everything read so far.
   */
  read(): Uint8Array | null {
    this.release()
    const words = this.words
    for (;;) {
      const head = this.head
      if (head === this.cachedTail) {
        // Acquire: the producer's bytes below this tail are visible from here on.
        this.cachedTail = Atomics.load(this.control, W_TAIL)
        if (head === this.cachedTail) {
          // Hand back any PAD or chunk records skipped on the way: nothing of them is in use.
          this.release()
          return null
        }
      }
      const offset = head & this.mask
      const header = words[offset >> 2] as number
      const kind = header >>> KIND_SHIFT
      if (kind === KIND_WHOLE) {
        this.head = (head + recordBytes(4, header)) | 0
        this.framesRead++
        this.bytesRead += header
        return this.bytes.subarray(offset + 4, offset + 4 + header)
      }
      if (kind === KIND_PAD) {
        this.head = (head + this.capacity - offset) | 0
        continue
      }
      const frame = this.readChunk(offset, header, kind)
      if (frame !== null) {
        // An assembled frame is a copy, so its chunks' space can go back now.
        this.release()
        this.framesRead++
        this.bytesRead += frame.length
        return frame
      }
    }
  }

  /**
   * Hands up to `maxFrames` frames to `callback(buffer, offset, length)` without allocating (chunked
   * frames excepted) and returns how many it delivered. The bytes are valid only during the callback.
   * Space goes back to the producer in steps of a quarter ring and at the end, not per frame. If the
   * callback throws, the frame it threw on counts as consumed and the error propagates.
   */
  drain(callback: FrameCallback, maxFrames = Number.MAX_SAFE_INTEGER): number {
    this.release()
    const words = this.words
    const bytes = this.bytes
    const mask = this.mask
    const releaseStep = this.capacity >> 2
    let delivered = 0
    let payload = 0
    try {
      while (delivered < maxFrames) {
        const head = this.head
        if (head === this.cachedTail) {
          this.cachedTail = Atomics.load(this.control, W_TAIL)
          if (head === this.cachedTail) break
        }
        const offset = head & mask
        const header = words[offset >> 2] as number
        const kind = header >>> KIND_SHIFT
        if (kind === KIND_WHOLE) {
          // Advance first: a throwing callback must not see this frame again.
          this.head = (head + recordBytes(4, header)) | 0
          delivered++
          payload += header
          callback(bytes, offset + 4, header)
        } else if (kind === KIND_PAD) {
          this.head = (head + this.capacity - offset) | 0
        } else {
          const frame = this.readChunk(offset, header, kind)
          if (frame !== null) {
            delivered++
            payload += frame.length
            callback(frame, 0, frame.length)
          }
        }
        if (((this.head - this.committedHead) | 0) >= releaseStep) this.release()
      }
    } finally {
      this.framesRead += delivered
      this.bytesRead += payload
      this.release()
    }
    return delivered
  }

  /** Gives the space of frames already read back to the producer (waking it if it waits for space). */
  release(): void {
    if (this.head === this.committedHead) return
    this.committedHead = this.head
    // Release: our reads of those records are done before the producer can see the space as free.
    Atomics.store(this.control, W_HEAD, this.head)
    if (this.spaceBell.ring()) this.notifies++
  }

  /** Whether the producer has published anything not yet read (a chunk of an unfinished frame counts). */
  hasData(): boolean {
    if (this.head !== this.cachedTail) return true
    this.cachedTail = Atomics.load(this.control, W_TAIL)
    return this.head !== this.cachedTail
  }

  /**
   * Releases what was read, then blocks (spin, then `Atomics.wait` on the data doorbell) until data
   * is published or a park times out after `timeoutMs`. Returns whether data is there. For threads
   * that may block. A wake-up with nothing to read (a late ring meant for an earlier park, or for
   * another ring sharing the doorbell) parks again; a consumer of several rings sharing a doorbell
   * parks on the `Doorbell` itself instead.
   */
  waitForData(timeoutMs = Infinity): boolean {
    this.release()
    for (;;) {
      if (this.spinUntilData()) return true
      const token = this.dataBell.prepare()
      if (this.hasData()) {
        this.dataBell.cancel()
        return true
      }
      this.parks++
      const reason = this.dataBell.wait(token, timeoutMs)
      if (reason === 'ok') this.wakes++
      else if (reason === 'timed-out') return this.hasData()
    }
  }

  /**
   * Like `waitForData` but parks with `Atomics.waitAsync`, so the thread's event loop keeps running.
   * A pending waitAsync does not keep a Node event loop alive by itself (see `Doorbell.waitAsync`).
   */
  async waitForDataAsync(timeoutMs = Infinity): Promise<boolean> {
    this.release()
    for (;;) {
      if (this.spinUntilData()) return true
      const token = this.dataBell.prepare()
      if (this.hasData()) {
        this.dataBell.cancel()
        return true
      }
      this.parks++
      const reason = await this.dataBell.waitAsync(token, timeoutMs)
      if (reason === 'ok') this.wakes++
      else if (reason === 'timed-out') return this.hasData()
    }
  }

  private spinUntilData(): boolean {
    for (let i = 0; i <= this.spin; i++) if (this.hasData()) return true
    return false
  }

  /** Copies one chunk into the frame being assembled; returns the frame when it is complete. */
  private readChunk(offset: number, header: number, kind: number): Uint8Array | null {
    const length = header & LENGTH_MASK
    let payloadOffset = offset + 4
    if (kind === KIND_FIRST) {
      if (this.assembly !== null) throw new MalformedFrameError('ring: a chunked frame started before the previous one ended')
      const total = (this.words[(offset >> 2) + 1] as number) >>> 0
      this.assembly = new Uint8Array(total)
      this.assembled = 0
      payloadOffset += 4
    } else if (this.assembly === null) {
      throw new MalformedFrameError('ring: a continuation chunk without a first chunk')
    }
    const assembly = this.assembly
    if (this.assembled + length > assembly.length) throw new MalformedFrameError('ring: chunks exceed their frame length')
    assembly.set(this.bytes.subarray(payloadOffset, payloadOffset + length), this.assembled)
    this.assembled += length
    this.head = (this.head + recordBytes(payloadOffset - offset, length)) | 0
    if (this.assembled < assembly.length) return null
    this.assembly = null
    this.chunkedFrames++
    return assembly
  }

  // ---------------------------------------------------------------------------------------------

  /** This endpoint's counters plus the current occupancy. Allocates; meant for metrics scrapes. */
  stats(): RingStats {
    const used = (Atomics.load(this.control, W_TAIL) - Atomics.load(this.control, W_HEAD)) | 0
    return {
      capacity: this.capacity,
      bytesUsed: used,
      framesWritten: this.framesWritten,
      bytesWritten: this.bytesWritten,
      framesRead: this.framesRead,
      bytesRead: this.bytesRead,
      chunkedFrames: this.chunkedFrames,
      fullEvents: this.fullEvents,
      parks: this.parks,
      wakes: this.wakes,
      notifies: this.notifies,
    }
  }
}
