import { RaftCodec, RaftMalformedMessageError, type MessageKind, type RaftMessage, type RaftTransport } from '../../cluster/raft/index.ts'
import type { FrameTransport } from '../../transport/index.ts'
import type { Simulation } from '../Simulation.ts'

export const RAFT_SYSTEM = 'raft'

/** Messages and bytes per message kind. */
export type KindCounters = Partial<Record<MessageKind, { count: number; bytes: number }>>

export interface NodeCounters {
  readonly sent: KindCounters
  readonly received: KindCounters
  /** Frames that failed to decode (ERR_RAFT_MALFORMED_MESSAGE), refused and counted. */
  malformed: number
}

/** A drop or delay rule on outgoing messages: by kind, sender and recipient (each optional). */
export interface MessageFilter {
  readonly kinds?: readonly MessageKind[]
  readonly from?: string
  readonly to?: string
  /** Extra delay before the message enters the wire; omitted: the message is dropped. */
  readonly delayMs?: number
  /** Further predicate on the message. */
  readonly when?: (m: RaftMessage) => boolean
}

export function count(c: KindCounters, kind: MessageKind, bytes: number): void {
  const e = c[kind]
  if (e === undefined) c[kind] = { count: 1, bytes }
  else {
    e.count++
    e.bytes += bytes
  }
}

/** A RaftTransport over the simulated network: every message is encoded and decoded (the codec runs in every simulation). */
export class RaftSimTransport implements RaftTransport {
  private handler: ((m: RaftMessage) => void) | null = null
  private closed = false
  private readonly sim: Simulation
  private readonly frames: FrameTransport
  private readonly codec: RaftCodec
  private readonly counters: NodeCounters
  private readonly filters: readonly MessageFilter[]

  constructor(sim: Simulation, frames: FrameTransport, codec: RaftCodec, counters: NodeCounters, filters: readonly MessageFilter[]) {
    this.sim = sim
    this.frames = frames
    this.codec = codec
    this.counters = counters
    this.filters = filters
    frames.onFrame((frame) => this.receive(frame))
  }

  send(m: RaftMessage): void {
    if (this.closed) return
    const bytes = this.codec.encode(m)
    count(this.counters.sent, m.kind, bytes.length)
    for (const f of this.filters) {
      if (f.kinds !== undefined && !f.kinds.includes(m.kind)) continue
      if (f.from !== undefined && f.from !== m.from) continue
      if (f.to !== undefined && f.to !== m.to) continue
      if (f.when !== undefined && !f.when(m)) continue
      if (f.delayMs === undefined) return
      this.sim.after(f.delayMs, () => {
        if (!this.closed) this.put(m.to, bytes)
      }, `raft delay ${m.kind} ${m.from}->${m.to}`)
      return
    }
    this.put(m.to, bytes)
  }

  private put(to: string, bytes: Uint8Array): void {
    this.frames.send({ system: RAFT_SYSTEM, node: to, shard: 0 }, bytes)
  }

  onMessage(handler: (m: RaftMessage) => void): void {
    this.handler = handler
  }

  close(): void {
    this.closed = true
  }

  private receive(frame: Uint8Array): void {
    if (this.closed || this.handler === null) return
    let m: RaftMessage
    try {
      m = this.codec.decode(frame)
    } catch (error) {
      if (error instanceof RaftMalformedMessageError) {
        this.counters.malformed++
        return
      }
      throw error
    }
    count(this.counters.received, m.kind, frame.length)
    this.handler(m)
  }
}
