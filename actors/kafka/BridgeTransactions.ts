import type { ResolvedBridgeOptions } from './BridgeOptions.ts'
import { kafkaErrorKind } from './errors.ts'
import { tpKey, type KafkaProducerPort, type TopicPartition } from './KafkaPort.ts'

/** One producer and its transaction state: the instance's only one, or one input partition's. */
export interface TxnUnit {
  readonly producer: KafkaProducerPort
  /** Its transactional id (null: a plain producer, modes without transactions). */
  readonly transactionalId: string | null
  txnOpen: boolean
  /** An abort failed: it is tried again before anything else. */
  needsAbort: boolean
}

/**
 * The bridge's producers. Exactly-once with `transactionalIdScope: 'instance'` (and the other
 * modes): one producer for every partition, made at start. With `'partition'` (Kafka Streams'
 * EOS v1): one transactional producer per assigned input partition, id
 * `<prefix>-<groupId>-<topic>-<partition>`, made when the partition is assigned; its
 * `initTransactions` bumps the id's epoch, which fences the partition's previous owner (a zombie
 * that has not noticed the rebalance) and aborts what it left open, before any record of the
 * partition is read.
 */
export class BridgeTransactions {
  readonly perPartition: boolean
  private readonly shared: TxnUnit | null
  private readonly byPartition = new Map<string, TxnUnit>()
  private readonly o: ResolvedBridgeOptions
  private readonly clientId: string

  constructor(o: ResolvedBridgeOptions, clientId: string) {
    this.o = o
    this.clientId = clientId
    this.perPartition = o.mode === 'exactly-once' && o.transactionalIdScope === 'partition'
    if (this.perPartition) {
      this.shared = null
    } else if (o.mode === 'exactly-once') {
      const transactionalId = `${o.transactionalIdPrefix}-${o.instanceId as string}`
      this.shared = { producer: o.client.producer({ clientId, transactionalId, transactionTimeoutMs: o.transactionTimeoutMs }), transactionalId, txnOpen: false, needsAbort: false }
    } else {
      this.shared = { producer: o.client.producer({ clientId }), transactionalId: null, txnOpen: false, needsAbort: false }
    }
  }

  /** Connects the shared producer; in exactly-once, bumps its epoch (fencing this instance's zombie, aborting what it left open). */
  async start(): Promise<void> {
    if (this.shared === null) return
    await this.shared.producer.connect()
    if (this.shared.transactionalId !== null) await this.shared.producer.initTransactions()
  }

  /** The producer for a partition's records (undefined: per-partition and not `ensure`d yet). */
  unit(topic: string, partition: number): TxnUnit | undefined {
    return this.shared ?? this.byPartition.get(tpKey(topic, partition))
  }

  /** Every producer with a transaction open, or an abort to retry. */
  pending(): TxnUnit[] {
    const all = this.shared === null ? [...this.byPartition.values()] : [this.shared]
    return all.filter((u) => u.txnOpen || u.needsAbort)
  }

  /** Per-partition: makes (connect, initTransactions) the producers of these partitions that have none. */
  async ensure(partitions: readonly TopicPartition[]): Promise<void> {
    if (!this.perPartition) return
    for (const tp of partitions) {
      const key = tpKey(tp.topic, tp.partition)
      if (this.byPartition.has(key)) continue
      const transactionalId = `${this.o.transactionalIdPrefix}-${this.o.groupId}-${tp.topic}-${tp.partition}`
      const producer = this.o.client.producer({ clientId: `${this.clientId}-${tp.topic}-${tp.partition}`, transactionalId, transactionTimeoutMs: this.o.transactionTimeoutMs })
      await producer.connect()
      try {
        await producer.initTransactions()
      } catch (error) {
        await producer.disconnect().catch(() => undefined)
        throw error
      }
      this.byPartition.set(key, { producer, transactionalId, txnOpen: false, needsAbort: false })
    }
  }

  /** Aborts a unit's open transaction; a fatal error is thrown, any other leaves `needsAbort` for the next try. Returns whether a transaction was open. */
  async abort(unit: TxnUnit): Promise<boolean> {
    if (!unit.txnOpen && !unit.needsAbort) return false
    try {
      await unit.producer.abortTransaction()
      unit.needsAbort = false
    } catch (error) {
      if (kafkaErrorKind(error) === 'fatal') throw error
      unit.needsAbort = true
    }
    unit.txnOpen = false
    return true
  }

  /**
   * Per-partition: the partitions left this instance. Their open transactions are aborted (the
   * new owner's initTransactions would abort them anyway) and their producers closed. Returns how
   * many transactions were open.
   */
  async release(partitions: readonly TopicPartition[]): Promise<number> {
    let aborted = 0
    for (const tp of partitions) {
      const key = tpKey(tp.topic, tp.partition)
      const unit = this.byPartition.get(key)
      if (unit === undefined) continue
      this.byPartition.delete(key)
      // Fenced here only means the new owner was quicker: nothing of ours is left to abort.
      if (unit.txnOpen) aborted++
      if (unit.txnOpen || unit.needsAbort) await unit.producer.abortTransaction().catch(() => undefined)
      await unit.producer.disconnect().catch(() => undefined)
    }
    return aborted
  }

  /** On the way out: every open transaction aborted (best effort), every producer closed. */
  async close(): Promise<void> {
    const all = this.shared === null ? [...this.byPartition.values()] : [this.shared]
    this.byPartition.clear()
    for (const unit of all) {
      if (unit.txnOpen || unit.needsAbort) await unit.producer.abortTransaction().catch(() => undefined)
      unit.txnOpen = false
      await unit.producer.disconnect().catch(() => undefined)
    }
  }
}
