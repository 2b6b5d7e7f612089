import { type Clock, type Logger } from '../../runtime/index.ts'
import type { ResolvedBridgeOptions } from './BridgeOptions.ts'
import { kafkaErrorKind } from './errors.ts'
import { tpKey, type KafkaConsumerPort, type KafkaProducerPort, type KafkaRecord, type OutRecord, type TopicPartitionOffset } from './KafkaPort.ts'
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

/** Ask failures that say "not now" rather than "this record is bad": the batch is retried, the record is not sent to the DLQ. */
const TRANSIENT_ASK = new Set(['ERR_ASK_TIMEOUT', 'ERR_ACTOR_STOPPED', 'ERR_UNKNOWN_ACTOR', 'ERR_MAILBOX_FULL', 'ERR_SYSTEM_TERMINATED'])

/**
 * The records of the open batch (one transaction in exactly-once mode, one offset commit
 * otherwise) and how they are processed: per partition in offset order, partitions concurrently.
 * Not an actor: it runs inside the consumer actor's turns, which never overlap.
 */
export class BridgeBatch {
  readonly stats: BridgeStats = { consumed: 0, produced: 0, dlq: 0, committedBatches: 0, committedRecords: 0, abortedBatches: 0, retries: 0, rebalances: 0, pauses: 0 }
  /** A transaction is open on the producer (exactly-once). */
  txnOpen = false
  /** An abort failed: it is tried again before anything else. */
  needsAbort = false
  private count = 0
  private startedAt = 0
  /** First offset of the batch per partition: where to seek back to when the batch is dropped. */
  private readonly first = new Map<string, TopicPartitionOffset>()
  /** Next offset to commit per partition. */
  private readonly next = new Map<string, TopicPartitionOffset>()
  private readonly o: ResolvedBridgeOptions
  private readonly consumer: KafkaConsumerPort
  private readonly producer: KafkaProducerPort
  private readonly clock: Clock
  private readonly log: Logger

  constructor(o: ResolvedBridgeOptions, consumer: KafkaConsumerPort, producer: KafkaProducerPort, clock: Clock, log: Logger) {
    this.o = o
    this.consumer = consumer
    this.producer = producer
    this.clock = clock
    this.log = log
  }

  get size(): number {
    return this.count
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
      if (!this.first.has(key)) this.first.set(key, { topic: r.topic, partition: r.partition, offset: r.offset })
      this.next.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1 })
    }
    this.count += records.length
    this.stats.consumed += records.length
    if (mode === 'exactly-once' && !this.txnOpen) {
      await this.producer.beginTransaction()
      this.txnOpen = true
    }
    // At-most-once: the offsets are committed before anything is handed over.
    if (mode === 'at-most-once') await this.commitPlain()
    const outputs = await Promise.all([...byPartition.values()].map((list) => this.runPartition(list)))
    const all = outputs.flat()
    if (all.length > 0) {
      await this.producer.send(all)
      this.stats.produced += all.length
    }
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
    this.log.warn({ bridge: this.o.name, topic: record.topic, partition: record.partition, offset: record.offset, code: (error as { code?: unknown }).code }, 'record sent to the DLQ')
    return dlqRecord(this.o.dlqTopic ?? `${record.topic}.dlq`, record, error)
  }

  /** Closes the batch: exactly-once sends the offsets in the transaction and commits it; the others commit offsets. */
  async commit(): Promise<void> {
    if (this.count === 0 && !this.txnOpen) return
    if (this.o.mode === 'exactly-once') {
      if (this.count > 0) await this.producer.sendOffsets([...this.next.values()], this.consumer.groupMetadata())
      await this.retryTransient(() => this.producer.commitTransaction())
      this.txnOpen = false
    } else if (this.o.mode === 'at-least-once') {
      await this.commitPlain()
    }
    this.stats.committedBatches++
    this.stats.committedRecords += this.count
    this.reset()
  }

  private async commitPlain(): Promise<void> {
    if (this.next.size > 0) await this.consumer.commitOffsets([...this.next.values()])
  }

  /**
   * Drops the batch after a failure: aborts the open transaction (its records and offsets vanish)
   * and seeks each partition back to the batch's first offset, so the records come again.
   * At-most-once does not seek back: those offsets are already committed.
   */
  async drop(seekBack: boolean): Promise<void> {
    if (this.txnOpen || this.needsAbort) {
      try {
        await this.producer.abortTransaction()
        this.needsAbort = false
      } catch (error) {
        if (kafkaErrorKind(error) === 'fatal') throw error
        this.needsAbort = true
      }
      this.txnOpen = false
      this.stats.abortedBatches++
    }
    if (seekBack && this.o.mode !== 'at-most-once') {
      const held = new Set(this.consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)))
      for (const [key, at] of this.first) if (held.has(key)) this.consumer.seek(at)
    }
    this.reset()
  }

  /** After a rebalance the new assignment starts from the committed offsets: nothing to seek. */
  forget(): void {
    this.reset()
  }

  private reset(): void {
    this.count = 0
    this.first.clear()
    this.next.clear()
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
        const delay = Math.min(maxMs, minMs * 2 ** attempt)
        await new Promise<void>((resolve) => this.clock.setTimer(delay, resolve))
      }
    }
  }
}
