import { type Clock, type Logger } from '../../runtime/index.ts'
import type { BridgeMetrics } from './BridgeMetrics.ts'
import type { ResolvedBridgeOptions } from './BridgeOptions.ts'
import type { BridgeTransactions, TxnUnit } from './BridgeTransactions.ts'
import { kafkaErrorKind } from './errors.ts'
import { tpKey, type KafkaConsumerPort, type KafkaRecord, type OutRecord, type TopicPartition } from './KafkaPort.ts'
import { decodeRecord, dlqRecord, metaOf, resultRecords } from './RecordCodec.ts'

/** Counters of one bridge instance (read by `stats()`; reset by a restart). */
export interface BridgeStats {
  consumed: number
  produced: number
  dlq: number
  committedBatches: number
  committedRecords: number
  abortedBatches: number
  retries: number
  rebalances: number
  pauses: number
}

/** One partition's share of the open batch: where it started (to seek back to), the next offset to commit, how many records. */
interface PartitionWork {
  readonly tp: TopicPartition
  readonly first: number
  next: number
  count: number
}

/** Ask failures that say "not now" rather than "this record is bad": the batch is retried, the record is not sent to the DLQ. */
const TRANSIENT_ASK = new Set(['ERR_ASK_TIMEOUT', 'ERR_ACTOR_STOPPED', 'ERR_UNKNOWN_ACTOR', 'ERR_MAILBOX_FULL', 'ERR_SYSTEM_TERMINATED'])

/**
 * The records of the open batch (in exactly-once mode one transaction per producer: the
 * instance's, or each input partition's; otherwise one offset commit) and how they are
 * processed: per partition in offset order, partitions concurrently. Not an actor: it runs inside
 * the consumer actor's turns, which never overlap.
 */
export class BridgeBatch {
  readonly stats: BridgeStats = { consumed: 0, produced: 0, dlq: 0, committedBatches: 0, committedRecords: 0, abortedBatches: 0, retries: 0, rebalances: 0, pauses: 0 }
  private count = 0
  private startedAt = 0
  private readonly work = new Map<string, PartitionWork>()
  private readonly o: ResolvedBridgeOptions
  private readonly consumer: KafkaConsumerPort
  private readonly txns: BridgeTransactions
  private readonly clock: Clock
  private readonly log: Logger
  private readonly metrics: BridgeMetrics

  constructor(o: ResolvedBridgeOptions, consumer: KafkaConsumerPort, txns: BridgeTransactions, clock: Clock, log: Logger, metrics: BridgeMetrics) {
    this.o = o
    this.consumer = consumer
    this.txns = txns
    this.clock = clock
    this.log = log
    this.metrics = metrics
  }

  get size(): number {
    return this.count
  }

  /** A transaction is open on some producer (exactly-once). */
  get txnOpen(): boolean {
    return this.txns.pending().some((u) => u.txnOpen)
  }

  /** An abort failed: it is tried again before anything else. */
  get needsAbort(): boolean {
    return this.txns.pending().some((u) => u.needsAbort)
  }

  /** Whether the open batch must close now (N records or T ms). */
  due(): boolean {
    return this.count > 0 && (this.count >= this.o.batchMaxRecords || this.clock.now() - this.startedAt >= this.o.batchMaxMs)
  }

  /** Ms until the open batch is due by time (for the next poll's delay). */
  msUntilDue(): number {
    return this.count === 0 ? Number.POSITIVE_INFINITY : Math.max(0, this.startedAt + this.o.batchMaxMs - this.clock.now())
  }

  /** Runs one poll's records through the target and produces what they yield (answers and DLQ copies). */
  async process(records: readonly KafkaRecord[]): Promise<void> {
    const mode = this.o.mode
    if (this.count === 0) this.startedAt = this.clock.now()
    // The batch's positions first: if anything below fails (even opening the transaction), `drop`
    // seeks back to them and these records come again; otherwise the poll has moved past them.
    const byPartition = new Map<string, KafkaRecord[]>()
    for (const r of records) {
      const key = tpKey(r.topic, r.partition)
      let list = byPartition.get(key)
      if (list === undefined) byPartition.set(key, (list = []))
      list.push(r)
      const w = this.work.get(key)
      if (w === undefined) this.work.set(key, { tp: { topic: r.topic, partition: r.partition }, first: r.offset, next: r.offset + 1, count: 1 })
      else {
        w.next = r.offset + 1
        w.count++
      }
    }
    this.count += records.length
    this.stats.consumed += records.length
    this.metrics.consumed(records.length)
    const units: TxnUnit[] = []
    for (const list of byPartition.values()) units.push(await this.unitFor(list[0] as KafkaRecord))
    if (mode === 'exactly-once') {
      for (const unit of new Set(units)) {
        if (unit.txnOpen) continue
        await unit.producer.beginTransaction()
        unit.txnOpen = true
      }
    }
    // At-most-once: the offsets are committed before anything is handed over.
    if (mode === 'at-most-once') await this.commitPlain()
    const outputs = await Promise.all([...byPartition.values()].map((list) => this.runPartition(list)))
    // Each partition's outputs go through its producer: in its transaction when there is one per partition.
    const sends = new Map<TxnUnit, OutRecord[]>()
    outputs.forEach((out, i) => {
      if (out.length === 0) return
      const unit = units[i] as TxnUnit
      const list = sends.get(unit)
      if (list === undefined) sends.set(unit, out)
      else list.push(...out)
    })
    let produced = 0
    await Promise.all([...sends].map(async ([unit, out]) => {
      await unit.producer.send(out)
      produced += out.length
    }))
    this.stats.produced += produced
    this.metrics.produced(produced)
  }

  private async unitFor(r: KafkaRecord): Promise<TxnUnit> {
    let unit = this.txns.unit(r.topic, r.partition)
    if (unit === undefined) {
      await this.txns.ensure([{ topic: r.topic, partition: r.partition }])
      unit = this.txns.unit(r.topic, r.partition) as TxnUnit
    }
    return unit
  }

  private async runPartition(records: readonly KafkaRecord[]): Promise<OutRecord[]> {
    const out: OutRecord[] = []
    for (const r of records) for (const o of await this.handle(r)) out.push(o)
    return out
  }

  private async handle(record: KafkaRecord): Promise<OutRecord[]> {
    let value: unknown
    try {
      value = decodeRecord(record, this.o.decode, this.o.maxRecordBytes)
    } catch (error) {
      return [this.toDlq(record, error)]
    }
    const { target, method } = this.o
    if (this.o.delivery === 'tell') {
      ;(target.tell as (m: string, ...a: unknown[]) => void)(method, value, metaOf(record))
      return []
    }
    let result: unknown
    try {
      result = await (target.askWith as (o: { timeoutMs: number }, m: string, ...a: unknown[]) => Promise<unknown>)({ timeoutMs: this.o.askTimeoutMs }, method, value, metaOf(record))
    } catch (error) {
      if (TRANSIENT_ASK.has(String((error as { code?: unknown }).code))) throw error
      return [this.toDlq(record, error)]
    }
    try {
      return resultRecords(result)
    } catch (error) {
      return [this.toDlq(record, error)]
    }
  }

  private toDlq(record: KafkaRecord, error: unknown): OutRecord {
    this.stats.dlq++
    this.metrics.dlq(1)
    this.log.warn({ bridge: this.o.name, topic: record.topic, partition: record.partition, offset: record.offset, code: (error as { code?: unknown }).code }, 'record sent to the DLQ')
    return dlqRecord(this.o.dlqTopic ?? `${record.topic}.dlq`, record, error)
  }

  /** Closes the batch: exactly-once sends each producer's offsets in its transaction and commits it; at-least-once commits the offsets. */
  async commit(): Promise<void> {
    if (this.count === 0 && !this.txnOpen) return
    let done = this.count
    if (this.o.mode === 'exactly-once') {
      done = 0
      for (const unit of this.txns.pending()) {
        if (!unit.txnOpen) continue
        const mine = [...this.work].filter(([, w]) => this.txns.unit(w.tp.topic, w.tp.partition) === unit)
        if (mine.length > 0) await unit.producer.sendOffsets(mine.map(([, w]) => ({ ...w.tp, offset: w.next })), this.consumer.groupMetadata())
        await this.retryTransient(() => unit.producer.commitTransaction())
        unit.txnOpen = false
        this.metrics.transaction('committed')
        // Committed: these partitions are never sought back, even if another producer's commit fails next.
        for (const [key, w] of mine) {
          this.work.delete(key)
          done += w.count
        }
      }
    } else if (this.o.mode === 'at-least-once') {
      await this.commitPlain()
    }
    this.stats.committedBatches++
    this.stats.committedRecords += done
    if (done > 0) this.metrics.batch(done, (this.clock.now() - this.startedAt) / 1000)
    this.reset()
  }

  private async commitPlain(): Promise<void> {
    if (this.work.size > 0) await this.consumer.commitOffsets([...this.work.values()].map((w) => ({ ...w.tp, offset: w.next })))
  }

  /**
   * Drops the batch after a failure: aborts the open transactions (their records and offsets
   * vanish) and seeks each partition back to the batch's first offset, so the records come again.
   * At-most-once does not seek back: those offsets are already committed.
   */
  async drop(seekBack: boolean): Promise<void> {
    let aborted = 0
    for (const unit of this.txns.pending()) if (await this.txns.abort(unit)) aborted++
    if (aborted > 0) {
      this.stats.abortedBatches++
      for (let i = 0; i < aborted; i++) this.metrics.transaction('aborted')
    }
    if (seekBack && this.o.mode !== 'at-most-once') {
      const held = new Set(this.consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)))
      for (const [key, w] of this.work) if (held.has(key)) this.consumer.seek({ ...w.tp, offset: w.first })
    }
    this.reset()
  }

  /**
   * A cooperative rebalance took these partitions away (they stay ours until the next poll). With
   * a producer per partition, only their transactions are aborted and their work forgotten: the
   * other partitions go on. One shared transaction (or offset commit) cannot drop part of its
   * work, so it is committed now, while the revoked partitions are still ours (as Kafka Streams
   * does); if that fails, the caller drops the batch and only the kept partitions are sought back.
   */
  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    if (this.txns.perPartition) {
      await this.release(partitions)
      for (const tp of partitions) {
        const key = tpKey(tp.topic, tp.partition)
        const w = this.work.get(key)
        if (w === undefined) continue
        this.count -= w.count
        this.work.delete(key)
      }
      if (this.work.size === 0) this.reset()
      return
    }
    if (this.count > 0 || this.txnOpen) await this.commit()
  }

  /** Per-partition producers of partitions that left: their transactions aborted (a fenced abort only means the new owner was first), the producers closed. */
  async release(partitions: readonly TopicPartition[]): Promise<void> {
    const aborted = await this.txns.release(partitions)
    if (aborted > 0) this.stats.abortedBatches++
    for (let i = 0; i < aborted; i++) this.metrics.transaction('aborted')
  }

  /** After an eager rebalance the new assignment starts from the committed offsets: nothing to seek. */
  forget(): void {
    this.reset()
  }

  private reset(): void {
    this.count = 0
    this.work.clear()
  }

  /** A commit that failed transiently is retried as such (it is idempotent): aborting could undo a commit that went through. */
  private async retryTransient(fn: () => Promise<void>): Promise<void> {
    const { minMs, maxMs, maxAttempts } = this.o.retry
    for (let attempt = 0; ; attempt++) {
      try {
        await fn()
        return
      } catch (error) {
        if (kafkaErrorKind(error) !== 'transient' || attempt + 1 >= maxAttempts) throw error
        this.stats.retries++
        this.metrics.retry()
        const delay = Math.min(maxMs, minMs * 2 ** attempt)
        await new Promise<void>((resolve) => this.clock.setTimer(delay, resolve))
      }
    }
  }
}
