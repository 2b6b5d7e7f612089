/**
 * The Kafka client port: what the bridge needs from a Kafka client, and nothing more. Two
 * implementations: the real one over librdkafka (`ConfluentKafkaClient`, loaded lazily) and the
 * in-memory twin (`KafkaTwin`), which also gives transactions the meaning librdkafka's mock cluster
 * lacks. Offsets are numbers (safe up to 2^53, far beyond any partition's life).
 */

export type Headers = Readonly<Record<string, string>>

/** A record as consumed. `offset` is its position; the next one to read is `offset + 1` (or later: markers take offsets). */
export interface KafkaRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: Headers
  readonly timestamp: number
}

/** A record to produce. No partition: the key's hash picks it (or round robin for a null key). */
export interface OutRecord {
  readonly topic: string
  readonly key?: Buffer | string | null
  readonly value: Buffer | string | null
  readonly headers?: Headers
  /** Pins the partition (tests; the DLQ keeps the input's partition when it exists). */
  readonly partition?: number
}

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** `offset`: the next offset to read (Kafka's committed-offset convention). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number
}

/** KIP-447: the consumer's group identity, sent with the offsets so the coordinator fences a zombie of an older generation. */
export interface GroupMetadata {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
}

export interface ProducerConfig {
  readonly clientId?: string
  /** Makes the producer transactional (and idempotent). Stable per instance: a restart fences the zombie. */
  readonly transactionalId?: string
  /** Kafka's `transaction.timeout.ms`: the coordinator aborts a transaction open longer. Must not exceed the broker's maximum. */
  readonly transactionTimeoutMs?: number
  /** Per-request deadline for the client's own calls. */
  readonly requestTimeoutMs?: number
}

export interface ConsumerConfig {
  readonly clientId?: string
  readonly groupId: string
  /** `read_committed` hides aborted and still-open transactional records. */
  readonly isolation: 'read_committed' | 'read_uncommitted'
  /** Where to start with no committed offset. Default `earliest`. */
  readonly autoOffsetReset?: 'earliest' | 'latest'
  readonly sessionTimeoutMs?: number
  /**
   * `eager` (default): every rebalance revokes the whole assignment, then assigns anew.
   * `cooperative` (Kafka's `cooperative-sticky`): a rebalance revokes only the partitions that move
   * and assigns only the added ones; the rest keep being consumed.
   */
  readonly rebalanceProtocol?: 'eager' | 'cooperative'
}

/**
 * Rebalance callbacks. Eager: all partitions revoked, then the new assignment. Cooperative:
 * `onRevoke` names only the partitions that move and `onAssign` only the added ones; revoked
 * partitions stay this consumer's until its next `poll` (no other member gets them before), so
 * their open work can still be committed or aborted.
 */
export interface RebalanceListener {
  onRevoke(partitions: readonly TopicPartition[]): void
  onAssign(partitions: readonly TopicPartition[]): void
}

export interface KafkaProducerPort {
  connect(): Promise<void>
  /** Registers the transactional id; bumps its epoch (fencing any older producer) and aborts what it left open. */
  initTransactions(): Promise<void>
  beginTransaction(): Promise<void>
  /** Resolves once the records are acknowledged (inside a transaction: written, not yet visible to read_committed). */
  send(records: readonly OutRecord[]): Promise<void>
  /** Adds consumed offsets to the open transaction: stored only if it commits. */
  sendOffsets(offsets: readonly TopicPartitionOffset[], group: GroupMetadata): Promise<void>
  commitTransaction(): Promise<void>
  abortTransaction(): Promise<void>
  disconnect(): Promise<void>
}

export interface KafkaConsumerPort {
  connect(): Promise<void>
  subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void>
  /** Up to `max` records from assigned, unpaused partitions; may return none. Rebalance callbacks run inside. */
  poll(max: number): Promise<KafkaRecord[]>
  pause(partitions: readonly TopicPartition[]): void
  resume(partitions: readonly TopicPartition[]): void
  /** Moves the fetch position (after an aborted transaction: back to the batch's first offset). */
  seek(target: TopicPartitionOffset): void
  /** Commits offsets outside a transaction (at-least-once and at-most-once modes). */
  commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void>
  /** Committed offsets of the group for these partitions (null: none). */
  committed(partitions: readonly TopicPartition[]): Promise<(number | null)[]>
  groupMetadata(): GroupMetadata
  assignment(): TopicPartition[]
  /**
   * Records between this consumer's position and the end of each partition (the last stable
   * offset under read_committed), from what the client last saw; null when not known yet.
   */
  lag(partitions: readonly TopicPartition[]): (number | null)[]
  disconnect(): Promise<void>
}

export interface KafkaClientPort {
  producer(config: ProducerConfig): KafkaProducerPort
  consumer(config: ConsumerConfig): KafkaConsumerPort
}

export function tpKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

export function toBuffer(value: Buffer | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? Buffer.from(value) : value
}
