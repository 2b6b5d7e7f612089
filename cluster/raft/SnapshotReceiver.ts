import type { SnapshotMessage } from './messages.ts'
import type { RaftConfiguration, Snapshot } from './RaftStorage.ts'

/**
 * A follower's side of chunked InstallSnapshot: accepts chunks in order (offset = bytes received so
 * far), starts over on a chunk at offset 0 of another snapshot, and assembles the snapshot when the
 * last byte arrives. Memory grows with bytes actually received, never with a declared total.
 */
export class SnapshotReceiver {
  private incoming: { index: number; term: number; total: number; received: number; chunks: Uint8Array[]; config: RaftConfiguration } | null = null

  reset(): void {
    this.incoming = null
  }

  /** Returns the offset to ask for next and, once complete, the snapshot. */
  accept(m: SnapshotMessage): { next: number; snapshot: Snapshot | null } {
    let inc = this.incoming
    if (m.offset === 0 && (inc === null || inc.index !== m.index || inc.term !== m.snapshotTerm || inc.received > 0)) {
      inc = { index: m.index, term: m.snapshotTerm, total: m.total, received: 0, chunks: [], config: m.config }
      this.incoming = inc
    }
    if (inc === null || inc.index !== m.index || inc.term !== m.snapshotTerm || inc.total !== m.total || m.offset !== inc.received) {
      return { next: inc !== null && inc.index === m.index ? inc.received : 0, snapshot: null }
    }
    if (m.data.length > 0) {
      inc.chunks.push(m.data)
      inc.received += m.data.length
    }
    if (inc.received > inc.total) {
      this.incoming = null
      return { next: 0, snapshot: null }
    }
    if (inc.received < inc.total) return { next: inc.received, snapshot: null }
    this.incoming = null
    const data = new Uint8Array(inc.total)
    let at = 0
    for (const c of inc.chunks) {
      data.set(c, at)
      at += c.length
    }
    return { next: inc.total, snapshot: { index: inc.index, term: inc.term, config: inc.config, data } }
  }
}
