import { EnvelopeKind } from '../../runtime/index.ts'
import type { NatsTransportStats } from './NatsTransportOptions.ts'

/**
 * The inbound side of what the membership decides. Frames that arrive while it holds them (this
 * node may have been away: a peer may have given up on it and failed the asks these frames carry)
 * wait here, and are released in arrival order once the membership says this node was not
 * quarantined, or dropped (counted) if it was; once quarantined, nothing is taken in. Held frames
 * sit before the link's receiver, so they are not acknowledged and their senders keep them. Bounded
 * like the link's retention: past the bound a frame is dropped and counted (its sender resends it
 * after the gap it leaves), never delivered out of order.
 */
export class InboundHold {
  /** The peer that declared this node down (it is out of the cluster until it restarts), or null. */
  quarantinedBy: string | null = null
  private subjects: string[] = []
  private frames: Uint8Array[] = []
  private bytes = 0
  private readonly maxFrames: number
  private readonly maxBytes: number
  private readonly stats: NatsTransportStats

  constructor(maxFrames: number, maxBytes: number, stats: NatsTransportStats) {
    this.maxFrames = maxFrames
    this.maxBytes = maxBytes
    this.stats = stats
  }

  /** Whether a frame that just arrived may be delivered now; if not, it is held or dropped (counted). */
  admit(subject: string, frame: Uint8Array, holding: boolean): boolean {
    if (this.quarantinedBy !== null) {
      this.stats.framesDroppedIn++
      return false
    }
    if (!holding) return true
    if (this.push(subject, frame)) this.stats.framesHeldIn++
    else this.stats.framesDroppedIn++
    return false
  }

  /** This node was quarantined: what is held is dropped, and so is everything that comes later. */
  quarantine(byNode: string): void {
    this.quarantinedBy = byNode
    this.stats.framesDroppedIn += this.drop()
  }

  get size(): number {
    return this.frames.length
  }

  /** Holds a frame; false when the bound is reached (the caller counts the loss). */
  push(subject: string, frame: Uint8Array): boolean {
    if (this.frames.length >= this.maxFrames || this.bytes + frame.byteLength > this.maxBytes) return false
    this.subjects.push(subject)
    this.frames.push(frame)
    this.bytes += frame.byteLength
    return true
  }

  /** Hands every held frame to `deliver`, in arrival order, and forgets them. */
  release(deliver: (subject: string, frame: Uint8Array) => void): void {
    const { subjects, frames } = this
    this.clear()
    for (let i = 0; i < frames.length; i++) deliver(subjects[i] as string, frames[i] as Uint8Array)
  }

  /** Forgets every held frame; returns how many there were. */
  drop(): number {
    const count = this.frames.length
    this.clear()
    return count
  }

  private clear(): void {
    this.subjects = []
    this.frames = []
    this.bytes = 0
  }
}

/** Where the per-envelope blocks of a frame start, and their size (docs/protocol.md, Node frames). */
const BLOCKS_AT = 8
const BLOCK_BYTES = 24

/**
 * Whether a frame carries new work (a tell, an ask or a poison pill) rather than only replies and
 * death-watch traffic. Reads the kind byte of each fixed block; a frame it cannot read counts as
 * new work. Only asked for frames to a leaving peer, which still takes replies but no new work.
 */
export function carriesNewWork(frame: Uint8Array): boolean {
  if (frame.byteLength < BLOCKS_AT) return true
  const count = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4, true)
  if (BLOCKS_AT + count * BLOCK_BYTES > frame.byteLength) return true
  for (let i = 0; i < count; i++) {
    const kind = frame[BLOCKS_AT + i * BLOCK_BYTES]
    if (kind !== EnvelopeKind.ReplyOk && kind !== EnvelopeKind.ReplyError && kind !== EnvelopeKind.System) return true
  }
  return false
}
