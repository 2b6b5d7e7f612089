import { Actor, mailboxDepth } from '../../runtime/index.ts'
import { backoffDelay } from '../../supervision/index.ts'
import { BridgeBatch, type BridgeStats } from './BridgeBatch.ts'
import { BridgeMetrics } from './BridgeMetrics.ts'
import { resolveBridgeOptions, type KafkaBridgeOptions, type ResolvedBridgeOptions } from './BridgeOptions.ts'
import { BridgeTransactions } from './BridgeTransactions.ts'
import { kafkaErrorKind } from './errors.ts'
import { tpKey, type KafkaConsumerPort, type KafkaRecord, type TopicPartition } from './KafkaPort.ts'

export interface KafkaBridgeConsumerProtocol {
  /** Timer: one poll → process → (maybe) commit step. */
  cycle(): Promise<void>
  stats(): BridgeStats & { readonly assigned: number; readonly paused: boolean; readonly txnOpen: boolean }
}

/**
 * The consumer side of the Kafka bridge: polls its group's partitions and feeds each record to the
 * target actor, per partition in order and partitions concurrently, in the chosen delivery mode.
 *
 * Errors, by kind (errors.ts): transient ones drop the batch (abort, seek back) and retry after a
 * backoff, escalating after `retry.maxAttempts` in a row; abortable ones (the coordinator's
 * timeout, a newer generation) drop the batch and go on at once; fatal ones (fenced, auth) fail
 * the actor, so its supervisor restarts it: the new producer's initTransactions fences what is
 * left of this one. Rebalances: eager ones abort the open transactions (the new assignment starts
 * from the committed offsets); cooperative ones touch only the revoked partitions (BridgeBatch.revoke).
 * With a producer per partition, a newly assigned partition stays paused until its producer's
 * initTransactions has fenced the previous owner. Backpressure: all partitions are paused while
 * the target's mailbox holds `highWatermark` messages or more, and resumed at `lowWatermark`.
 */
export class KafkaBridgeConsumer extends Actor<KafkaBridgeConsumerProtocol> implements KafkaBridgeConsumerProtocol {
  private readonly o: ResolvedBridgeOptions
  private readonly consumer: KafkaConsumerPort
  private readonly txns: BridgeTransactions
  private readonly batch: BridgeBatch
  private readonly metrics: BridgeMetrics
  /** Rebalance callbacks not handled yet (they come inside poll, or between turns with the real client). */
  private readonly revoked: TopicPartition[] = []
  private readonly assigned: TopicPartition[] = []
  /** Per-partition producers: assigned partitions kept paused until their producer is ready. */
  private readonly awaitingInit = new Map<string, TopicPartition>()
  private paused = false
  private attempts = 0
  private stopping = false

  constructor(options: KafkaBridgeOptions) {
    super()
    this.o = resolveBridgeOptions(options)
    const o = this.o
    const clientId = `${o.name}-${o.instanceId ?? 'consumer'}`
    this.consumer = o.client.consumer({
      clientId,
      groupId: o.groupId,
      isolation: o.mode === 'exactly-once' ? 'read_committed' : 'read_uncommitted',
      rebalanceProtocol: o.rebalanceProtocol,
      ...(o.sessionTimeoutMs === null ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
    })
    this.txns = new BridgeTransactions(o, clientId)
    this.metrics = new BridgeMetrics(o.registry, o.name, {
      lag: () => {
        const assigned = this.consumer.assignment()
        const lags = this.consumer.lag(assigned)
        const out: { topic: string; partition: number; lag: number }[] = []
        assigned.forEach((tp, i) => {
          const lag = lags[i]
          if (lag !== null && lag !== undefined) out.push({ topic: tp.topic, partition: tp.partition, lag })
        })
        return out
      },
      pausedPartitions: () => (this.paused ? this.consumer.assignment().length : this.awaitingInit.size),
    })
    this.batch = new BridgeBatch(o, this.consumer, this.txns, this.context.system.clock, this.context.log, this.metrics)
  }

  override async preStart(): Promise<void> {
    // A stable transactional id: this bumps its epoch, fencing a zombie of this instance and aborting what it left open.
    await this.txns.start()
    await this.consumer.connect()
    await this.consumer.subscribe(this.o.topics, {
      onRevoke: (tps) => {
        this.revoked.push(...tps)
        this.batch.stats.rebalances++
        this.metrics.rebalance('revoke')
      },
      onAssign: (tps) => {
        this.assigned.push(...tps)
        this.batch.stats.rebalances++
        this.metrics.rebalance('assign')
        // Nothing is read from a partition before its producer fenced the previous owner.
        if (this.txns.perPartition) this.consumer.pause(tps)
      },
    })
    this.context.timers.startSingle('cycle', 0, 'cycle')
  }

  override async onStopping(): Promise<void> {
    this.stopping = true
    this.context.timers.cancel('cycle')
    await this.release()
  }

  override async preRestart(): Promise<void> {
    this.stopping = true
    await this.release()
  }

  /** Best effort on the way out: open transactions are aborted (their records come again to the next owner), the group is left. */
  private async release(): Promise<void> {
    this.metrics.close()
    await this.batch.drop(false).catch(() => undefined)
    await this.consumer.disconnect().catch(() => undefined)
    await this.txns.close().catch(() => undefined)
  }

  stats(): BridgeStats & { readonly assigned: number; readonly paused: boolean; readonly txnOpen: boolean } {
    return { ...this.batch.stats, assigned: this.consumer.assignment().length, paused: this.paused, txnOpen: this.batch.txnOpen }
  }

  async cycle(): Promise<void> {
    if (this.stopping) return
    let delay: number
    try {
      delay = await this.step()
      this.attempts = 0
    } catch (error) {
      const kind = kafkaErrorKind(error)
      if (kind === 'fatal') throw error
      await this.batch.drop(true)
      if (kind === 'abortable') {
        this.context.log.info({ bridge: this.o.name, code: (error as { code?: unknown }).code }, 'batch aborted; going on')
        delay = this.o.idlePollMs
      } else {
        this.attempts++
        this.batch.stats.retries++
        this.metrics.retry()
        // Escalate: the supervisor restarts the bridge (fresh connections) with its own backoff.
        if (this.attempts >= this.o.retry.maxAttempts) throw error
        delay = backoffDelay({ minMs: this.o.retry.minMs, maxMs: this.o.retry.maxMs, randomFactor: 0.2 }, this.attempts - 1, this.context.system.random)
        this.context.log.warn({ bridge: this.o.name, attempt: this.attempts, delayMs: delay, err: String(error) }, 'Kafka bridge step failed; backing off')
      }
    }
    if (!this.stopping) this.context.timers.startSingle('cycle', delay, 'cycle')
  }

  private async step(): Promise<number> {
    const batch = this.batch
    if (batch.needsAbort) await batch.drop(true)
    // Callbacks that came between turns are handled before the next poll releases revoked partitions.
    await this.rebalanced()
    await this.initAwaiting()
    this.backpressure()
    let records = await this.consumer.poll(this.o.maxPollRecords)
    try {
      if (await this.rebalanced()) {
        // A record of a partition revoked meanwhile is its new owner's to read (from the committed offset).
        const held = new Set(this.consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)))
        records = records.filter((r: KafkaRecord) => held.has(tpKey(r.topic, r.partition)))
      }
    } catch (error) {
      // The poll moved past these records and the batch has not taken them yet: read them again.
      this.seekBack(records)
      throw error
    }
    // Partitions assigned in this poll stay paused until the next step has made their producers.
    if (records.length > 0) await batch.process(records)
    if (this.o.mode === 'exactly-once' ? batch.due() || (batch.txnOpen && batch.size === 0) : batch.size > 0) await batch.commit()
    if (records.length > 0) return 0
    return Math.min(this.o.idlePollMs, batch.msUntilDue())
  }

  /** Applies the rebalance callbacks received so far; returns whether there were any. */
  private async rebalanced(): Promise<boolean> {
    if (this.revoked.length === 0 && this.assigned.length === 0) return false
    const revoked = this.revoked.splice(0)
    const assigned = this.assigned.splice(0)
    for (const tp of revoked) this.awaitingInit.delete(tpKey(tp.topic, tp.partition))
    if (this.o.rebalanceProtocol === 'eager') {
      // Everything moved: what this instance had open is not its to commit any more.
      this.paused = false
      if (this.txns.perPartition) await this.batch.release(revoked)
      if (this.batch.txnOpen) await this.batch.drop(false)
      else this.batch.forget()
    } else if (revoked.length > 0) {
      await this.batch.revoke(revoked)
    }
    if (this.txns.perPartition) for (const tp of assigned) this.awaitingInit.set(tpKey(tp.topic, tp.partition), tp)
    else if (this.paused && assigned.length > 0) this.consumer.pause(assigned)
    return true
  }

  private seekBack(records: readonly KafkaRecord[]): void {
    const held = new Set(this.consumer.assignment().map((tp) => tpKey(tp.topic, tp.partition)))
    const first = new Map<string, KafkaRecord>()
    for (const r of records) if (!first.has(tpKey(r.topic, r.partition))) first.set(tpKey(r.topic, r.partition), r)
    for (const [key, r] of first) if (held.has(key)) this.consumer.seek({ topic: r.topic, partition: r.partition, offset: r.offset })
  }

  /** Per-partition producers: makes those of newly assigned partitions (fencing their previous owner), then lets the partitions be read. */
  private async initAwaiting(): Promise<void> {
    if (this.awaitingInit.size === 0) return
    const tps = [...this.awaitingInit.values()]
    await this.txns.ensure(tps)
    this.awaitingInit.clear()
    if (!this.paused) this.consumer.resume(tps)
  }

  private backpressure(): void {
    const depth = mailboxDepth(this.o.target)
    if (depth < 0) return
    const assigned: TopicPartition[] = this.consumer.assignment()
    if (!this.paused && depth >= this.o.highWatermark) {
      this.consumer.pause(assigned)
      this.paused = true
      this.batch.stats.pauses++
    } else if (this.paused && depth <= this.o.lowWatermark) {
      this.consumer.resume(assigned.filter((tp) => !this.awaitingInit.has(tpKey(tp.topic, tp.partition))))
      this.paused = false
    }
  }
}
