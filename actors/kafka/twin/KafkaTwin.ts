import type { Clock } from '../../../runtime/index.ts'
import { KafkaUnavailableError } from '../errors.ts'
import type { ConsumerConfig, KafkaClientPort, KafkaConsumerPort, KafkaProducerPort, KafkaRecord, OutRecord, ProducerConfig } from '../KafkaPort.ts'
import { toBuffer } from '../KafkaPort.ts'
import { TwinCoordinator } from './TwinCoordinator.ts'
import { TwinConsumer, TwinProducer } from './TwinClients.ts'
import { TwinGroups } from './TwinGroups.ts'
import { PartitionLog, toRecord, type TxnMark } from './TwinLog.ts'

export interface KafkaTwinOptions {
  /** Time for transaction timeouts and session timeouts: the simulator's virtual clock in simulations. */
  readonly clock: Pick<Clock, 'now'>
  /** Partitions of an auto-created topic. Default 3. */
  readonly defaultPartitions?: number
  /** The broker's `transaction.max.timeout.ms`. Default 900000 (Kafka's default). */
  readonly maxTransactionTimeoutMs?: number
}

/** Which client call a fault hits. */
export type TwinOperation =
  | 'connect' | 'initTransactions' | 'beginTransaction' | 'send' | 'sendOffsets' | 'commitTransaction' | 'abortTransaction'
  | 'subscribe' | 'poll' | 'commitOffsets' | 'committed'

/**
 * An in-memory Kafka behind the client port, with the transactional semantics librdkafka's mock
 * cluster does not give: transaction markers and read_committed visibility, offsets stored only
 * when their transaction commits, producer epochs with zombie fencing, the coordinator's
 * transaction timeout, consumer-group rebalances and session timeouts, and KIP-447's fencing of
 * offsets sent by an older generation. Every client of one twin sees the same cluster. Time is
 * read from the injected clock only; nothing here arms a timer (timeouts are swept on each call).
 */
export class KafkaTwin {
  readonly coordinator: TwinCoordinator
  readonly groups: TwinGroups
  private readonly topics = new Map<string, PartitionLog[]>()
  private readonly clock: Pick<Clock, 'now'>
  private readonly defaultPartitions: number
  private readonly faults = new Map<TwinOperation, Error[]>()
  private roundRobin = 0
  /** While true every call fails with ERR_KAFKA_UNAVAILABLE (a broker down). */
  unavailable = false
  /** Clients cut off from the cluster (a crashed or partitioned process): their calls fail, their group membership times out. */
  private readonly isolated = new Set<string>()

  constructor(options: KafkaTwinOptions) {
    this.clock = options.clock
    this.defaultPartitions = options.defaultPartitions ?? 3
    this.groups = new TwinGroups(() => this.clock.now(), (topic) => this.partitions(topic).length)
    this.coordinator = new TwinCoordinator(() => this.clock.now(), options.maxTransactionTimeoutMs ?? 900_000, this.groups)
  }

  /** A client of this cluster, as one process has: `clientId` names it for `isolate` and in member ids. */
  client(clientId = 'twin'): KafkaClientPort {
    return {
      producer: (config: ProducerConfig): KafkaProducerPort => new TwinProducer(this, { ...config, clientId }),
      consumer: (config: ConsumerConfig): KafkaConsumerPort => new TwinConsumer(this, { ...config, clientId }),
    }
  }

  createTopic(topic: string, partitions: number): void {
    if (this.topics.has(topic)) return
    this.topics.set(topic, Array.from({ length: partitions }, (_, p) => new PartitionLog(topic, p)))
    this.groups.topicChanged(topic)
  }

  partitions(topic: string): PartitionLog[] {
    let logs = this.topics.get(topic)
    if (logs === undefined) {
      logs = Array.from({ length: this.defaultPartitions }, (_, p) => new PartitionLog(topic, p))
      this.topics.set(topic, logs)
    }
    return logs
  }

  /** The next call of `operation` (from any client) fails with `error`; queued errors apply in order. */
  failNext(operation: TwinOperation, error: Error, times = 1): void {
    let queue = this.faults.get(operation)
    if (queue === undefined) this.faults.set(operation, (queue = []))
    for (let i = 0; i < times; i++) queue.push(error)
  }

  /** Cuts a client (by clientId) off the cluster, as a crash or a partition would; `heal` reconnects it. */
  isolate(clientId: string): void {
    this.isolated.add(clientId)
  }

  heal(clientId: string): void {
    this.isolated.delete(clientId)
  }

  /** Runs at the start of every client call: injected faults, then the coordinator's and the groups' lazy timers. */
  enter(operation: TwinOperation, clientId = ''): void {
    if (this.unavailable || this.isolated.has(clientId)) throw new KafkaUnavailableError(`twin broker unavailable (${operation})`, { data: { operation } })
    const queued = this.faults.get(operation)?.shift()
    if (queued !== undefined) throw queued
    this.sweep()
  }

  sweep(): void {
    this.coordinator.sweep()
    this.groups.sweep()
  }

  now(): number {
    return this.clock.now()
  }

  append(record: OutRecord, txn: TxnMark | null): PartitionLog {
    const logs = this.partitions(record.topic)
    const key = toBuffer(record.key)
    const partition = record.partition ?? (key === null ? this.roundRobin++ % logs.length : hashKey(key) % logs.length)
    const log = logs[partition]
    if (log === undefined) throw new KafkaUnavailableError(`topic '${record.topic}' has no partition ${partition}`, { data: { operation: 'send' } })
    log.append(key, toBuffer(record.value), record.headers ?? {}, this.clock.now(), txn)
    return log
  }

  /**
   * What a consumer with this isolation would read from the topic, all partitions, in offset order
   * per partition: the assertion view of tests ("downstream sees each output once").
   */
  read(topic: string, isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): KafkaRecord[] {
    this.sweep()
    const out: KafkaRecord[] = []
    for (const log of this.partitions(topic)) {
      const { entries } = log.read(0, Number.MAX_SAFE_INTEGER, isolation === 'read_committed')
      for (const e of entries) out.push(toRecord(topic, log.partition, e.offset, e.key, e.value, e.headers, e.timestamp))
    }
    return out
  }
}

/** FNV-1a over the key's bytes: a stable partition for a key (not Kafka's murmur2; the twin needs stability, not compatibility). */
function hashKey(key: Buffer): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193)
  return h >>> 0
}
