import { KafkaInvalidStateError, KafkaRebalanceError } from '../errors.ts'
import {
  tpKey,
  type ConsumerConfig,
  type GroupMetadata,
  type KafkaConsumerPort,
  type KafkaProducerPort,
  type KafkaRecord,
  type OutRecord,
  type ProducerConfig,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../KafkaPort.ts'
import type { TxnHandle } from './TwinCoordinator.ts'
import type { TwinMember } from './TwinGroups.ts'
import type { KafkaTwin } from './KafkaTwin.ts'
import { toRecord } from './TwinLog.ts'

/** A producer of the twin: plain (each record visible at once) or transactional (an epoch, a fencing target). */
export class TwinProducer implements KafkaProducerPort {
  private readonly twin: KafkaTwin
  private readonly config: ProducerConfig
  private handle: TxnHandle | null = null

  constructor(twin: KafkaTwin, config: ProducerConfig) {
    this.twin = twin
    this.config = config
  }

  async connect(): Promise<void> {
    this.twin.enter('connect', this.config.clientId)
  }

  async initTransactions(): Promise<void> {
    this.twin.enter('initTransactions', this.config.clientId)
    const id = this.config.transactionalId
    if (id === undefined) throw new KafkaInvalidStateError('initTransactions needs a transactionalId')
    this.handle = this.twin.coordinator.init(id, this.config.transactionTimeoutMs ?? 60_000)
  }

  async beginTransaction(): Promise<void> {
    this.twin.enter('beginTransaction', this.config.clientId)
    this.twin.coordinator.begin(this.txn())
  }

  async send(records: readonly OutRecord[]): Promise<void> {
    this.twin.enter('send', this.config.clientId)
    if (this.config.transactionalId === undefined) {
      for (const r of records) this.twin.append(r, null)
      return
    }
    const txn = this.twin.coordinator.current(this.txn())
    for (const r of records) txn.partitions.add(this.twin.append(r, txn))
  }

  async sendOffsets(offsets: readonly TopicPartitionOffset[], group: GroupMetadata): Promise<void> {
    this.twin.enter('sendOffsets', this.config.clientId)
    this.twin.coordinator.addOffsets(this.txn(), offsets, group)
  }

  async commitTransaction(): Promise<void> {
    this.twin.enter('commitTransaction', this.config.clientId)
    this.twin.coordinator.commit(this.txn())
  }

  async abortTransaction(): Promise<void> {
    this.twin.enter('abortTransaction', this.config.clientId)
    this.twin.coordinator.abort(this.txn())
  }

  async disconnect(): Promise<void> {
    // An open transaction stays open on the coordinator until its timeout or the next initTransactions, as in Kafka.
  }

  private txn(): TxnHandle {
    if (this.handle === null) throw new KafkaInvalidStateError('transactional call before initTransactions')
    return this.handle
  }
}

/** A group consumer of the twin: positions, pauses, and the rebalance callbacks run inside `poll`. */
export class TwinConsumer implements KafkaConsumerPort {
  private readonly twin: KafkaTwin
  private readonly config: ConsumerConfig
  private member: TwinMember | null = null
  private topics: readonly string[] = []
  private listener: RebalanceListener | null = null
  private readonly positions = new Map<string, number>()
  private readonly paused = new Set<string>()
  private cursor = 0

  constructor(twin: KafkaTwin, config: ConsumerConfig) {
    this.twin = twin
    this.config = config
  }

  async connect(): Promise<void> {
    this.twin.enter('connect', this.config.clientId)
  }

  async subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void> {
    this.twin.enter('subscribe', this.config.clientId)
    for (const t of topics) this.twin.partitions(t)
    this.topics = [...topics]
    this.listener = listener
    this.join()
  }

  async poll(max: number): Promise<KafkaRecord[]> {
    this.twin.enter('poll', this.config.clientId)
    const member = this.member
    if (member === null) return []
    // Evicted (silent past its session timeout): like librdkafka, lose the partitions and join again.
    if (!this.twin.groups.isMember(member)) {
      if (member.assignment.length > 0) this.listener?.onRevoke(member.assignment)
      this.positions.clear()
      this.join()
    }
    const m = this.member as TwinMember
    m.lastSeen = this.twin.now()
    // Cooperative: what was revoked at the last poll is let go now; the group hands it on (a new generation).
    if (m.releasing.length > 0) this.twin.groups.released(m)
    const pending = m.pending
    if (pending !== null && this.twin.groups.cooperative(this.config.groupId)) {
      m.pending = null
      m.generation = pending.generation
      if (pending.revoke.length > 0) {
        const gone = new Set(pending.revoke.map((tp) => tpKey(tp.topic, tp.partition)))
        m.assignment = m.assignment.filter((tp) => !gone.has(tpKey(tp.topic, tp.partition)))
        m.releasing = [...pending.revoke]
        for (const key of gone) {
          this.positions.delete(key)
          this.paused.delete(key)
        }
        this.listener?.onRevoke(pending.revoke)
      }
      if (pending.assign.length > 0) {
        m.assignment = [...m.assignment, ...pending.assign]
        this.listener?.onAssign(pending.assign)
      }
    } else if (pending !== null) {
      m.pending = null
      if (pending.revoke.length > 0) this.listener?.onRevoke(pending.revoke)
      // Eager protocol: every position is fetched again from the committed offsets.
      this.positions.clear()
      this.paused.clear()
      m.assignment = pending.assign
      m.generation = pending.generation
      this.listener?.onAssign(pending.assign)
    }
    return this.fetch(m, max)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(tpKey(tp.topic, tp.partition))
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(tpKey(tp.topic, tp.partition))
  }

  seek(target: TopicPartitionOffset): void {
    this.positions.set(tpKey(target.topic, target.partition), target.offset)
  }

  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.twin.enter('commitOffsets', this.config.clientId)
    const m = this.member
    if (m === null || m.pending !== null || !this.twin.groups.isMember(m)) {
      throw new KafkaRebalanceError(`group '${this.config.groupId}' rebalanced: commit refused`, { data: { groupId: this.config.groupId, generationId: m?.generation ?? -1 } })
    }
    this.twin.groups.commit(this.config.groupId, offsets)
  }

  async committed(partitions: readonly TopicPartition[]): Promise<(number | null)[]> {
    this.twin.enter('committed', this.config.clientId)
    return partitions.map((tp) => this.twin.groups.committed(this.config.groupId, tp.topic, tp.partition))
  }

  groupMetadata(): GroupMetadata {
    const m = this.member
    return { groupId: this.config.groupId, generationId: m?.generation ?? -1, memberId: m?.id ?? '' }
  }

  assignment(): TopicPartition[] {
    return [...(this.member?.assignment ?? [])]
  }

  lag(partitions: readonly TopicPartition[]): (number | null)[] {
    return partitions.map((tp) => {
      const log = this.twin.partitions(tp.topic)[tp.partition]
      const at = this.positions.get(tpKey(tp.topic, tp.partition)) ?? this.twin.groups.committed(this.config.groupId, tp.topic, tp.partition)
      if (log === undefined || at === null) return null
      return Math.max(0, (this.config.isolation === 'read_committed' ? log.lastStableOffset : log.highWatermark) - at)
    })
  }

  async disconnect(): Promise<void> {
    if (this.member !== null) this.twin.groups.leave(this.member)
    this.member = null
  }

  private join(): void {
    if (this.listener === null) return
    this.member = this.twin.groups.join(this.config.groupId, this.config.clientId ?? 'twin', this.topics, this.listener, this.config.sessionTimeoutMs ?? 45_000, this.config.rebalanceProtocol ?? 'eager')
  }

  private fetch(m: TwinMember, max: number): KafkaRecord[] {
    const out: KafkaRecord[] = []
    const n = m.assignment.length
    const committedOnly = this.config.isolation === 'read_committed'
    for (let i = 0; i < n && out.length < max; i++) {
      const tp = m.assignment[(this.cursor + i) % n] as TopicPartition
      const key = tpKey(tp.topic, tp.partition)
      if (this.paused.has(key)) continue
      let position = this.positions.get(key)
      if (position === undefined) {
        // KIP-447: while a transaction holds offsets for this partition, the committed offset is unstable; wait.
        if (this.twin.coordinator.hasPendingOffsets(this.config.groupId, key)) continue
        const log = this.twin.partitions(tp.topic)[tp.partition]
        position = this.twin.groups.committed(this.config.groupId, tp.topic, tp.partition) ?? ((this.config.autoOffsetReset ?? 'earliest') === 'earliest' ? 0 : (log?.highWatermark ?? 0))
      }
      const log = this.twin.partitions(tp.topic)[tp.partition]
      if (log === undefined) continue
      const { entries, next } = log.read(position, max - out.length, committedOnly)
      this.positions.set(key, next)
      for (const e of entries) out.push(toRecord(tp.topic, tp.partition, e.offset, e.key, e.value, e.headers, e.timestamp))
    }
    this.cursor = n === 0 ? 0 : (this.cursor + 1) % n
    return out
  }
}
