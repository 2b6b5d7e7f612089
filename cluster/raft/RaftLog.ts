import type { LogEntry, RaftConfiguration, Snapshot } from './RaftStorage.ts'

/**
 * A server's log in memory: a snapshot (index, term) that stands for everything up to it, then
 * entries. Tracks what is committed, what was applied and which suffix is not yet handed to storage.
 * Pure bookkeeping; the core decides what to append and when.
 */
export class RaftLog {
  snapshot: Snapshot
  /** Entries after the snapshot: entries[i].index === snapshot.index + 1 + i. */
  entries: LogEntry[]
  committed: number
  applied: number
  /** First index not yet handed to storage (entries from here on go into the next Ready). */
  unstableFrom: number
  /** Last index known fsynced (the driver reports each persist); a leader counts itself toward a quorum only up to here. */
  stableIndex: number

  constructor(snapshot: Snapshot, entries: readonly LogEntry[]) {
    this.snapshot = snapshot
    this.entries = entries.slice()
    this.committed = snapshot.index
    this.applied = snapshot.index
    this.unstableFrom = this.lastIndex + 1
    this.stableIndex = this.lastIndex
  }

  /**
   * A persist of entries through (index, term) resolved. Ignored when that entry was replaced
   * meanwhile (a new leader truncated the suffix while the write was under way): the replacement's
   * own persist reports it later, since the driver persists Readies in order.
   */
  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.term(index) === term) this.stableIndex = index
  }

  get firstIndex(): number {
    return this.snapshot.index + 1
  }

  get lastIndex(): number {
    return this.snapshot.index + this.entries.length
  }

  get lastTerm(): number {
    return this.term(this.lastIndex) as number
  }

  /** The term of the entry at `index`, or undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    const snap = this.snapshot
    if (index === snap.index) return snap.term
    if (index < snap.index || index > this.lastIndex) return undefined
    return (this.entries[index - snap.index - 1] as LogEntry).term
  }

  entry(index: number): LogEntry | undefined {
    return this.entries[index - this.snapshot.index - 1]
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex)
  }

  /** Entries [lo, hi), at most `maxBytes` of data (at least one entry). lo must not be compacted. */
  slice(lo: number, hi: number, maxBytes = Infinity): LogEntry[] {
    const base = this.snapshot.index + 1
    const out: LogEntry[] = []
    let bytes = 0
    for (let i = lo; i < hi; i++) {
      const e = this.entries[i - base] as LogEntry
      bytes += e.data.length + 24
      if (out.length > 0 && bytes > maxBytes) break
      out.push(e)
    }
    return out
  }

  /** Appends after the last entry (leader). */
  append(entries: readonly LogEntry[]): void {
    for (const e of entries) this.entries.push(e)
  }

  /**
   * A follower's AppendEntries: when (prevIndex, prevTerm) matches, drops the first conflicting
   * suffix and appends what is new. Returns the index of the last new entry, or -1 on a mismatch.
   * `truncated` reports the first index cut off (or 0), so the caller can recompute its config.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly LogEntry[]): { last: number; truncatedFrom: number } | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null
    let truncatedFrom = 0
    let i = 0
    for (let j = 0; j < entries.length; j++) {
      const e = entries[j] as LogEntry
      if (e.index > this.snapshot.index && e.index <= this.committed && this.term(e.index) !== e.term) return null
    }
    // Skip entries we already have (same index and term); a duplicate or late append changes nothing.
    for (; i < entries.length; i++) {
      const e = entries[i] as LogEntry
      if (e.index <= this.snapshot.index) continue
      const ours = this.term(e.index)
      if (ours === undefined) break
      if (ours !== e.term) {
        truncatedFrom = e.index
        this.truncateFrom(e.index)
        break
      }
    }
    for (; i < entries.length; i++) this.entries.push(entries[i] as LogEntry)
    return { last: prevIndex + entries.length, truncatedFrom }
  }

  truncateFrom(index: number): void {
    this.entries.length = Math.max(0, index - this.snapshot.index - 1)
    if (this.unstableFrom > index) this.unstableFrom = index
    if (this.stableIndex >= index) this.stableIndex = index - 1
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term` (etcd's findConflictByTerm): where the next
   * probe can start. Stops at the snapshot.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex)
    for (; i > this.snapshot.index; i--) {
      const t = this.term(i) as number
      if (t <= term) return { index: i, term: t }
    }
    return { index: this.snapshot.index, term: this.snapshot.term }
  }

  commitTo(index: number): boolean {
    const to = Math.min(index, this.lastIndex)
    if (to > this.committed) {
      this.committed = to
      return true
    }
    return false
  }

  /**
   * Installs a snapshot received from the leader (Raft §7): when `keepSuffix` (our log holds the
   * snapshot's last entry with its term), the entries after it stay; otherwise the whole log goes.
   * Kept entries not known to be stored go into the next Ready again: the storage makes the same
   * decision on what it holds, and what it dropped must be written back.
   */
  restore(snapshot: Snapshot, keepSuffix = false): void {
    this.entries = keepSuffix ? this.entries.slice(snapshot.index - this.snapshot.index) : []
    this.snapshot = snapshot
    if (this.committed < snapshot.index) this.committed = snapshot.index
    this.unstableFrom = keepSuffix ? Math.max(this.unstableFrom, snapshot.index + 1) : snapshot.index + 1
    this.stableIndex = keepSuffix ? Math.min(Math.max(this.stableIndex, snapshot.index), this.unstableFrom - 1) : snapshot.index
  }

  /** Local compaction: `snapshot` covers entries ≤ its index, which are dropped from memory. */
  compact(snapshot: Snapshot): void {
    const drop = snapshot.index - this.snapshot.index
    if (drop <= 0) return
    this.entries = this.entries.slice(drop)
    this.snapshot = snapshot
    if (this.unstableFrom < snapshot.index + 1) this.unstableFrom = snapshot.index + 1
  }

  /** The configuration in force after the entry at `index` (the last config entry at or before it). */
  configAt(index: number, decode: (data: Uint8Array) => RaftConfiguration): RaftConfiguration {
    for (let i = Math.min(index, this.lastIndex); i > this.snapshot.index; i--) {
      const e = this.entry(i) as LogEntry
      if (e.type === 'config') return decode(e.data)
    }
    return this.snapshot.config
  }
}
