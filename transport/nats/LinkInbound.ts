import type { Clock, RateLimitedLog } from '../../runtime/index.ts'
import type { FrameSigner } from './FrameSigner.ts'
import { readAck, readDataHeader } from './LinkFrames.ts'
import type { LinkReceiver } from './LinkReceiver.ts'
import type { LinkSender } from './LinkSender.ts'
import type { NatsTransportStats } from './NatsTransportOptions.ts'

export type FrameHandler = (frame: Uint8Array, credited?: boolean) => unknown

/**
 * What arrives on a shard's two subjects, in the order it is checked: the cluster signature (when
 * there is a secret), the link header, the stream's sequence (LinkReceiver: duplicates and gaps
 * dropped); then the codec frame goes to Remoting, and its bytes count as released (credit) at once
 * or when Remoting releases the frame it held. Acks go to the LinkSender.
 */
export class LinkInbound {
  private readonly stats: NatsTransportStats
  private readonly signer: FrameSigner | null
  private readonly warnings: RateLimitedLog
  private readonly receiver: LinkReceiver
  private readonly sender: LinkSender
  private readonly maxEarly: number
  private handler: FrameHandler | null = null
  /** Frames that arrived before Remoting registered its handler. */
  private early: Uint8Array[] = []
  /** Called after an ack, while a close waits for peers to acknowledge everything. */
  private afterAck: (() => void) | null = null

  constructor(stats: NatsTransportStats, signer: FrameSigner | null, warnings: RateLimitedLog, receiver: LinkReceiver, sender: LinkSender, maxEarly: number) {
    this.stats = stats
    this.signer = signer
    this.warnings = warnings
    this.receiver = receiver
    this.sender = sender
    this.maxEarly = maxEarly
  }

  setHandler(handler: FrameHandler): void {
    this.handler = handler
    const early = this.early
    this.early = []
    for (const frame of early) this.deliver(frame)
  }

  /** Resolves once peers acknowledged everything the sender retains, or after `ms`. */
  acknowledged(clock: Clock, ms: number): Promise<void> {
    if (this.sender.retained === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        this.afterAck = null
        clock.clearTimer(timer)
        resolve()
      }
      const timer = clock.setTimer(ms, done)
      this.afterAck = () => {
        if (this.sender.retained === 0) done()
      }
    })
  }

  /** A message on this shard's frame subject. */
  frame(subject: string, signed: Uint8Array): void {
    // Checks the signature before anything decodes the bytes.
    const bytes = this.signer === null ? signed : this.signer.verify(subject, signed)
    if (bytes === null) this.forged(subject, signed.byteLength)
    else this.deliver(bytes)
  }

  /** A message on this shard's ack subject. */
  ack(subject: string, signed: Uint8Array): void {
    const bytes = this.signer === null ? signed : this.signer.verify(subject, signed)
    if (bytes === null) return this.forged(subject, signed.byteLength)
    const ack = readAck(bytes)
    if (ack === null) return this.malformed('ack', bytes.byteLength)
    this.sender.onAck(ack)
    this.afterAck?.()
  }

  private deliver(bytes: Uint8Array): void {
    const handler = this.handler
    if (handler === null) {
      // Held until Remoting registers (normally the next line after start()); bounded like outbound holding.
      if (this.early.length < this.maxEarly) this.early.push(bytes)
      else this.stats.receiveErrors++
      return
    }
    const header = readDataHeader(bytes)
    if (header === null) return this.malformed('frame', bytes.byteLength)
    const stream = this.receiver.accept(header)
    if (stream === null) return
    const frame = bytes.subarray(header.bodyOffset)
    this.stats.framesIn++
    this.stats.bytesIn += frame.byteLength
    let held = false
    try {
      held = handler(frame, true) === true
    } catch {
      this.stats.receiveErrors++
    }
    this.receiver.consumed(stream, frame.byteLength, held)
  }

  private forged(subject: string, bytes: number): void {
    this.stats.unauthenticatedFrames++
    this.warnings.note('forged', { subject, bytes, total: this.stats.unauthenticatedFrames }, 'dropped node frames without a valid cluster signature')
  }

  private malformed(what: string, bytes: number): void {
    this.stats.malformedLinkFrames++
    this.warnings.note('malformed-link', { what, bytes, total: this.stats.malformedLinkFrames }, 'dropped NATS messages without a valid link header')
  }
}
