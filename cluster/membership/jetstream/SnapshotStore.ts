import type { KV } from '@nats-io/kv'
import { noQuorum } from './JetStreamLog.ts'
import { decodeSnapshotRecord, encodeSnapshotRecord, snapshotRecordSeq, type SnapshotRecord } from './SnapshotRecord.ts'

const KEY = 'snapshot'

/**
 * The latest snapshot of the state machine, one KV key (history 1). Only ever moves forward: a write
 * is a compare-and-set on the revision read just before, and is skipped when the stored snapshot
 * already covers as much, so a slow former leader cannot put an older state back.
 */
export class SnapshotStore {
  private readonly kv: KV
  private readonly maxBytes: number

  constructor(kv: KV, maxBytes: number) {
    this.kv = kv
    this.maxBytes = maxBytes
  }

  /** The stored snapshot, or null. Hostile bytes reject with ERR_CLUSTER_MALFORMED_COMMAND; NATS failures with ERR_CLUSTER_NO_QUORUM. */
  async load(): Promise<SnapshotRecord | null> {
    let entry
    try {
      entry = await this.kv.get(KEY)
    } catch (error) {
      throw noQuorum('JetStream did not return the snapshot', error)
    }
    if (entry === null || entry.operation !== 'PUT') return null
    return decodeSnapshotRecord(entry.value)
  }

  /** Stores `record` unless a snapshot covering as much is there. Returns false when skipped (or too large for a KV value). */
  async save(record: SnapshotRecord): Promise<boolean> {
    const bytes = encodeSnapshotRecord(record)
    if (bytes.length > this.maxBytes) return false
    try {
      const current = await this.kv.get(KEY)
      if (current === null || current.operation !== 'PUT') {
        await this.kv.create(KEY, bytes)
        return true
      }
      let coveredSeq = 0
      try {
        coveredSeq = snapshotRecordSeq(current.value)
      } catch {
        // A malformed stored snapshot is replaced by a good one.
      }
      if (coveredSeq >= record.seq) return false
      await this.kv.update(KEY, bytes, current.revision)
      return true
    } catch (error) {
      throw noQuorum('JetStream did not store the snapshot', error)
    }
  }
}
