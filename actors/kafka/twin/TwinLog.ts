import type { Headers, KafkaRecord } from '../KafkaPort.ts'

/** One transaction as the partitions see it: its records share this object, so a marker flips them all at once. */
export interface TxnMark {
  state: 'open' | 'committed' | 'aborted'
}

export interface LogEntry {
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Headers
  readonly timestamp: number
  /** null: written outside a transaction. */
  readonly txn: TxnMark | null
  /** A transaction marker: takes an offset, never returned to consumers (as in Kafka). */
  readonly control: 'commit' | 'abort' | null
}

/**
 * One partition's log with Kafka's visibility rules: read_uncommitted reads to the high watermark
 * (aborted records included); read_committed reads only below the last stable offset (the first
 * offset of a still-open transaction) and skips aborted records and markers.
 */
export class PartitionLog {
  readonly topic: string
  readonly partition: number
  readonly entries: LogEntry[] = []
  /** First offset of each open transaction on this partition. */
  private readonly openFirst = new Map<TxnMark, number>()

  constructor(topic: string, partition: number) {
    this.topic = topic
    this.partition = partition
  }

  get highWatermark(): number {
    return this.entries.length
  }

  get lastStableOffset(): number {
    let lso = this.entries.length
    for (const first of this.openFirst.values()) if (first < lso) lso = first
    return lso
  }

  append(key: Buffer | null, value: Buffer | null, headers: Headers, timestamp: number, txn: TxnMark | null): number {
    const offset = this.entries.length
    if (txn !== null && !this.openFirst.has(txn)) this.openFirst.set(txn, offset)
    this.entries.push({ offset, key, value, headers, timestamp, txn, control: null })
    return offset
  }

  /** Ends a transaction here: writes its marker (commit or abort) and lifts the stable offset. */
  mark(txn: TxnMark, control: 'commit' | 'abort', timestamp: number): void {
    this.openFirst.delete(txn)
    this.entries.push({ offset: this.entries.length, key: null, value: null, headers: {}, timestamp, txn, control })
  }

  /**
   * Entries a consumer at `position` may read (at most `max`), and the position after them.
   * Skipped entries (markers, aborted records) still move the position forward.
   */
  read(position: number, max: number, committedOnly: boolean): { entries: LogEntry[]; next: number } {
    const end = committedOnly ? this.lastStableOffset : this.entries.length
    const out: LogEntry[] = []
    let at = position
    while (at < end && out.length < max) {
      const entry = this.entries[at] as LogEntry
      at++
      if (entry.control !== null) continue
      if (committedOnly && entry.txn !== null && entry.txn.state !== 'committed') continue
      out.push(entry)
    }
    return { entries: out, next: at }
  }
}

export function toRecord(topic: string, partition: number, offset: number, key: Buffer | null, value: Buffer | null, headers: Headers, timestamp: number): KafkaRecord {
  return { topic, partition, offset, key, value, headers, timestamp }
}
