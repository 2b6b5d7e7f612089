/**
 * The deterministic write sequence of the SIGKILL test, shared by the child that writes it and the
 * parent that checks what survived: op k (k ≥ 1) is always the same batch, so the state after any
 * number of ops can be recomputed.
 */
import type { LogEntry, PersistBatch } from '../../../../../cluster/raft/RaftStorage.ts'

/** Every op's batch, given the last index before it. Mostly appends; every 7th replaces a short suffix. */
export function opBatch(k: number, lastIndex: number): PersistBatch {
  const term = 1 + Math.floor(k / 5)
  const hardState = { term, votedFor: k % 3 === 0 ? null : `node-${k % 3}` }
  const from = k % 7 === 0 ? Math.max(1, lastIndex - 2) : lastIndex + 1
  const count = 1 + (k % 8)
  const entries: LogEntry[] = []
  for (let index = from; index < from + count; index++) {
    const data = new Uint8Array(100)
    data.fill(k & 0xff)
    new DataView(data.buffer).setUint32(0, index)
    entries.push({ index, term, type: k % 11 === 0 ? 'noop' : 'command', data })
  }
  return { hardState, entries }
}

/** Digest of the state after each op 0..n (op 0: the fresh state). */
export function modelDigests(n: number): string[] {
  const out: string[] = []
  let hardState: { term: number; votedFor: string | null } = { term: 0, votedFor: null }
  let log: LogEntry[] = []
  out.push(digestOf(hardState, log))
  for (let k = 1; k <= n; k++) {
    const last = log.length === 0 ? 0 : (log[log.length - 1] as LogEntry).index
    const batch = opBatch(k, last)
    hardState = { ...(batch.hardState as { term: number; votedFor: string | null }) }
    const first = (batch.entries?.[0] as LogEntry).index
    log = [...log.slice(0, first - 1), ...(batch.entries ?? [])]
    out.push(digestOf(hardState, log))
  }
  return out
}

export function digestOf(hardState: { term: number; votedFor: string | null }, log: readonly LogEntry[]): string {
  let h = 0
  for (const e of log) {
    h = (Math.imul(h, 31) + e.index * 7 + e.term) | 0
    for (const b of e.data) h = (Math.imul(h, 31) + b) | 0
    h = (Math.imul(h, 31) + e.type.length) | 0
  }
  return `${hardState.term}/${hardState.votedFor}/${log.length}/${h}`
}
