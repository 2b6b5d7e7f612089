import { Actor, mailboxDepth } from '../../runtime/index.ts'
import { backoffDelay } from '../../supervision/index.ts'
import { BridgeBatch, type BridgeStats } from './BridgeBatch.ts'
import { resolveBridgeOptions, type KafkaBridgeOptions, type ResolvedBridgeOptions } from './BridgeOptions.ts'
import { kafkaErrorKind } from './errors.ts'
import type { KafkaConsumerPort, KafkaProducerPort, TopicPartition } from './KafkaPort.ts'

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
 * left of this one. A rebalance aborts the open transaction; the new assignment starts from the
 * committed offsets. Backpressure: all partitions are paused while the target's mailbox holds
 * `highWatermark` messages or more, and resumed at `lowWatermark`.
 */
export class KafkaBridgeConsumer extends Actor<KafkaBridgeConsumerProtocol> implements KafkaBridgeConsumerProtocol {
  private readonly o: ResolvedBridgeOptions
  private readonly consumer: KafkaConsumerPort
  private readonly producer: KafkaProducerPort
  private readonly batch: BridgeBatch
  private rebalanced = false
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
      ...(o.sessionTimeoutMs === null ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
    })
    this.producer = o.client.producer(
      o.mode === 'exactly-once'
        ? { clientId, transactionalId: `${o.transactionalIdPrefix}-${o.instanceId as string}`, transactionTimeoutMs: o.transactionTimeoutMs }
        : { clientId },
    )
    this.batch = new BridgeBatch(o, this.consumer, this.producer, this.context.system.clock, this.context.log)
  }

  override async preStart(): Promise<void> {
    await this.producer.connect()
    // A stable transactional id: this bumps its epoch, fencing a zombie of this instance and aborting what it left open.
    if (this.o.mode === 'exactly-once') await this.producer.initTransactions()
    await this.consumer.connect()
    await this.consumer.subscribe(this.o.topics, {
      onRevoke: () => this.onRebalance(),
      onAssign: () => this.onRebalance(),
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

  /** Best effort on the way out: an open transaction is aborted (its records come again to the next owner), the group is left. */
  private async release(): Promise<void> {
    await this.batch.drop(false).catch(() => undefined)
    await this.consumer.disconnect().catch(() => undefined)
    await this.producer.disconnect().catch(() => undefined)
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
    this.backpressure()
    const records = await this.consumer.poll(this.o.maxPollRecords)
    if (this.rebalanced) {
      this.rebalanced = false
      this.paused = false
      // The partitions moved: what this instance had open is not its to commit any more.
      if (batch.txnOpen || batch.size > 0) {
        if (batch.txnOpen) await batch.drop(false)
        else batch.forget()
      }
    }
    if (records.length > 0) await batch.process(records)
    if (this.o.mode === 'exactly-once' ? batch.due() || (batch.txnOpen && batch.size === 0) : batch.size > 0) await batch.commit()
    if (records.length > 0) return 0
    return Math.min(this.o.idlePollMs, batch.msUntilDue())
  }

  private onRebalance(): void {
    this.rebalanced = true
    this.batch.stats.rebalances++
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
      this.consumer.resume(assigned)
      this.paused = false
    }
  }
}
