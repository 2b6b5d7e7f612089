import { EnvelopeKind } from '../../runtime/index.ts'

/**
 * Frames that arrived while the membership held them (this node may have been away: a peer may
 * have given up on it and failed the asks these frames carry). Released in arrival order once the
 * membership says this node was not quarantined, dropped (counted) if it was. Bounded like the
 * outbound buffer: past the bound a frame is dropped and counted, never delivered out of order.
 */
export class InboundHold {
  private subjects: string[] = []
  private frames: Uint8Array[] = []
  private bytes = 0
  private readonly maxFrames: number
  private readonly maxBytes: number

  constructor(maxFrames: number, maxBytes: number) {
    this.maxFrames = maxFrames
    this.maxBytes = maxBytes
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
