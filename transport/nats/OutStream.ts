import type { SystemAddress } from '../FrameTransport.ts'
import { dataFrame, dataPrefix } from './LinkFrames.ts'
import type { LinkSenderOptions } from './LinkSender.ts'
import { INITIAL_CREDIT_BYTES } from './LinkReceiver.ts'

/** A retained frame of an `OutStream`. */
export class OutFrame {
  /** 0 while waiting; its sequence number once published in the stream's current epoch. */
  seq = 0
  readonly body: Uint8Array
  constructor(body: Uint8Array) {
    this.body = body
  }
}

/** One destination shard: its frames in order (published ones first, then waiting ones) and its credit. */
export class OutStream {
  readonly to: SystemAddress
  readonly subject: string
  epoch = 1
  prefix: Uint8Array
  nextSeq = 1
  frames: OutFrame[] = []
  head = 0
  /** frames[head, head + published) are published and unacknowledged; the rest wait. */
  published = 0
  publishedBytes = 0
  waitingBytes = 0
  /** Body bytes published in this epoch, against `credit`. */
  sentBytes = 0
  credit = INITIAL_CREDIT_BYTES
  lastProgressAt = 0
  lastResendAt = Number.NEGATIVE_INFINITY
  refusing = false
  /** Reported full to a caller: its room handler hears when it is not. */
  wanted = false
  constructor(to: SystemAddress, subject: string, prefix: Uint8Array) {
    this.to = to
    this.subject = subject
    this.prefix = prefix
  }
  get length(): number {
    return this.frames.length - this.head
  }
  /** Drops acknowledged slots: all of them once empty, else in one splice once they are most of the array. */
  compact(): void {
    if (this.head === this.frames.length) {
      this.frames = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames.splice(0, this.head)
      this.head = 0
    }
  }
}

/** Publishes every unacknowledged frame again, in order (go-back-N); the receiver drops what it has. */
export function resendUnacked(o: LinkSenderOptions, stream: OutStream): void {
  const now = o.clock.now()
  stream.lastResendAt = now
  stream.lastProgressAt = now
  const end = stream.head + stream.published
  for (let i = stream.head; i < end; i++) {
    const frame = stream.frames[i] as OutFrame
    try {
      o.publish(stream.subject, dataFrame(stream.prefix, frame.seq, frame.body))
    } catch {
      return
    }
    o.stats.framesResent++
  }
}

/** Starts the stream over at sequence 1 in a new epoch; every retained frame waits to be published again. */
export function startNewEpoch(o: LinkSenderOptions, stream: OutStream): void {
  stream.epoch = (stream.epoch % 0xffffffff) + 1
  stream.prefix = dataPrefix(o.node, o.shard, o.session, stream.epoch)
  stream.nextSeq = 1
  stream.sentBytes = 0
  stream.credit = INITIAL_CREDIT_BYTES
  const stats = o.stats
  for (let i = stream.head; i < stream.head + stream.published; i++) (stream.frames[i] as OutFrame).seq = 0
  stats.framesUnacked -= stream.published
  stats.bytesUnacked -= stream.publishedBytes
  stats.framesBuffered += stream.published
  stats.bytesBuffered += stream.publishedBytes
  stream.waitingBytes += stream.publishedBytes
  stream.published = 0
  stream.publishedBytes = 0
}
