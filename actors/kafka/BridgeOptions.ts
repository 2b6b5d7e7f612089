import type { Registry } from 'prom-client'
import type { ActorRef } from '../../runtime/index.ts'
import { KafkaInvalidConfigError } from './errors.ts'
import type { KafkaClientPort } from './KafkaPort.ts'
import type { RecordDecoder } from './RecordCodec.ts'

/**
 * Delivery guarantee of the consumer side.
 * - `exactly-once`: consume → ask → produce the answers and commit the offsets in one transaction.
 * - `at-least-once`: process, then commit; a crash between the two replays the records.
 * - `at-most-once`: commit, then process; a crash between the two loses the records.
 */
export type BridgeMode = 'exactly-once' | 'at-least-once' | 'at-most-once'

export interface KafkaBridgeOptions {
  /** Names the bridge in logs, errors and the default transactional id. */
  readonly name: string
  readonly client: KafkaClientPort
  readonly groupId: string
  readonly topics: readonly string[]
  /** The actor that gets each record: `method(value, meta)`. */
  readonly target: ActorRef<any>
  readonly method: string
  readonly mode: BridgeMode
  /** `ask` (default) awaits each record (its answer is produced); `tell` only delivers it (not allowed in exactly-once). */
  readonly delivery?: 'ask' | 'tell'
  /**
   * Stable per instance (a pod name, a node id): the transactional id is `<transactionalIdPrefix>-<instanceId>`,
   * so a restarted instance fences its own zombie and instances never fence each other (KIP-447).
   * Required in exactly-once with `transactionalIdScope: 'instance'`.
   */
  readonly instanceId?: string
  /**
   * Exactly-once only. `instance` (default): one transactional producer per instance, zombies of
   * another generation fenced by the group metadata sent with the offsets (KIP-447, Kafka Streams'
   * EOS v2). `partition`: one transactional producer per assigned input partition, id
   * `<transactionalIdPrefix>-<groupId>-<topic>-<partition>`, the same on every instance, so the
   * partition's new owner fences the old one when it takes over (Kafka Streams' EOS v1, "eos-alpha";
   * for brokers without KIP-447, at the cost of one producer per partition).
   */
  readonly transactionalIdScope?: 'instance' | 'partition'
  /** Default `<name>`. */
  readonly transactionalIdPrefix?: string
  /** `eager` (default) or `cooperative` (cooperative-sticky: a rebalance stops only the partitions that move). */
  readonly rebalanceProtocol?: 'eager' | 'cooperative'
  /** Where the `troupe_kafka_*` metrics go (a prom-client registry, never the global one). Default: none. */
  readonly registry?: Registry
  readonly decode?: RecordDecoder
  /** Records larger than this go to the DLQ undecoded. Default 1 MiB. */
  readonly maxRecordBytes?: number
  /** Where records that fail (decode error, handler error) go; default `<topic>.dlq`. */
  readonly dlqTopic?: string
  /** A transaction (or an offset commit) covers at most this many records… Default 100. */
  readonly batchMaxRecords?: number
  /** …or this many ms since its first record. Default 100. */
  readonly batchMaxMs?: number
  /** Kafka's transaction.timeout.ms for the producer; must be at least 2 × (batchMaxMs + askTimeoutMs) and at most the broker's maximum. Default 30000. */
  readonly transactionTimeoutMs?: number
  /** Per-record ask deadline; a timeout aborts the batch and retries it. Default 5000. */
  readonly askTimeoutMs?: number
  /** Records per poll. Default 500. */
  readonly maxPollRecords?: number
  /** Delay between polls that found nothing. Default 10. */
  readonly idlePollMs?: number
  /** Pause the partitions when the target's mailbox holds this many messages… Default 1000. */
  readonly highWatermark?: number
  /** …and resume below this many. Default 100. */
  readonly lowWatermark?: number
  /** Transient errors: backoff from `minMs` to `maxMs`, escalated to the supervisor after `maxAttempts` in a row. */
  readonly retry?: { readonly minMs?: number; readonly maxMs?: number; readonly maxAttempts?: number }
  readonly sessionTimeoutMs?: number
}

export interface ResolvedBridgeOptions extends Required<Omit<KafkaBridgeOptions, 'instanceId' | 'dlqTopic' | 'retry' | 'sessionTimeoutMs' | 'registry'>> {
  readonly instanceId: string | null
  readonly registry: Registry | null
  readonly dlqTopic: string | null
  readonly retry: { readonly minMs: number; readonly maxMs: number; readonly maxAttempts: number }
  readonly sessionTimeoutMs: number | null
}

const MODES = new Set(['exactly-once', 'at-least-once', 'at-most-once'])

function positiveInt(problems: string[], name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) problems.push(`${name} must be a positive integer, got ${String(value)}`)
}

/** Defaults applied and every problem listed in one ERR_KAFKA_INVALID_CONFIG. */
export function resolveBridgeOptions(o: KafkaBridgeOptions): ResolvedBridgeOptions {
  const problems: string[] = []
  const r: ResolvedBridgeOptions = {
    name: o.name,
    client: o.client,
    groupId: o.groupId,
    topics: o.topics,
    target: o.target,
    method: o.method,
    mode: o.mode,
    delivery: o.delivery ?? 'ask',
    instanceId: o.instanceId ?? null,
    transactionalIdScope: o.transactionalIdScope ?? 'instance',
    transactionalIdPrefix: o.transactionalIdPrefix ?? o.name,
    rebalanceProtocol: o.rebalanceProtocol ?? 'eager',
    registry: o.registry ?? null,
    decode: o.decode ?? 'json',
    maxRecordBytes: o.maxRecordBytes ?? 1 << 20,
    dlqTopic: o.dlqTopic ?? null,
    batchMaxRecords: o.batchMaxRecords ?? 100,
    batchMaxMs: o.batchMaxMs ?? 100,
    transactionTimeoutMs: o.transactionTimeoutMs ?? 30_000,
    askTimeoutMs: o.askTimeoutMs ?? 5000,
    maxPollRecords: o.maxPollRecords ?? 500,
    idlePollMs: o.idlePollMs ?? 10,
    highWatermark: o.highWatermark ?? 1000,
    lowWatermark: o.lowWatermark ?? 100,
    retry: { minMs: o.retry?.minMs ?? 100, maxMs: o.retry?.maxMs ?? 5000, maxAttempts: o.retry?.maxAttempts ?? 10 },
    sessionTimeoutMs: o.sessionTimeoutMs ?? null,
  }
  if (typeof r.name !== 'string' || r.name.length === 0) problems.push('name must be a non-empty string')
  if (typeof r.groupId !== 'string' || r.groupId.length === 0) problems.push('groupId must be a non-empty string')
  if (!Array.isArray(r.topics) || r.topics.length === 0 || !r.topics.every((t) => typeof t === 'string' && t.length > 0)) problems.push('topics must be a non-empty list of topic names')
  if (typeof r.method !== 'string' || r.method.length === 0) problems.push('method must be the target handler name')
  if (!MODES.has(r.mode)) problems.push(`mode must be exactly-once, at-least-once or at-most-once, got ${String(r.mode)}`)
  if (r.delivery !== 'ask' && r.delivery !== 'tell') problems.push(`delivery must be ask or tell, got ${String(r.delivery)}`)
  if (r.mode === 'exactly-once' && r.delivery === 'tell') problems.push('exactly-once needs delivery ask: a tell gives no answer to put in the transaction')
  if (r.transactionalIdScope !== 'instance' && r.transactionalIdScope !== 'partition') problems.push(`transactionalIdScope must be instance or partition, got ${String(r.transactionalIdScope)}`)
  if (r.rebalanceProtocol !== 'eager' && r.rebalanceProtocol !== 'cooperative') problems.push(`rebalanceProtocol must be eager or cooperative, got ${String(r.rebalanceProtocol)}`)
  if (r.mode === 'exactly-once' && r.transactionalIdScope === 'instance' && (r.instanceId === null || r.instanceId.length === 0)) problems.push('exactly-once needs a stable instanceId (the transactional id is derived from it)')
  for (const [k, v] of [['maxRecordBytes', r.maxRecordBytes], ['batchMaxRecords', r.batchMaxRecords], ['batchMaxMs', r.batchMaxMs], ['transactionTimeoutMs', r.transactionTimeoutMs], ['askTimeoutMs', r.askTimeoutMs], ['maxPollRecords', r.maxPollRecords], ['idlePollMs', r.idlePollMs], ['highWatermark', r.highWatermark]] as const) positiveInt(problems, k, v)
  if (!(Number.isInteger(r.lowWatermark) && r.lowWatermark >= 0 && r.lowWatermark < r.highWatermark)) problems.push('lowWatermark must be an integer in [0, highWatermark)')
  // The batch must close well inside the transaction timeout, or the coordinator aborts every transaction.
  if (r.mode === 'exactly-once' && r.transactionTimeoutMs < 2 * (r.batchMaxMs + r.askTimeoutMs)) problems.push(`transactionTimeoutMs (${r.transactionTimeoutMs}) must be at least 2 × (batchMaxMs + askTimeoutMs) = ${2 * (r.batchMaxMs + r.askTimeoutMs)}`)
  if (!(r.retry.minMs > 0 && r.retry.maxMs >= r.retry.minMs && Number.isInteger(r.retry.maxAttempts) && r.retry.maxAttempts > 0)) problems.push('retry needs 0 < minMs <= maxMs and maxAttempts a positive integer')
  if (problems.length > 0) throw new KafkaInvalidConfigError(`invalid KafkaBridge options: ${problems.join('; ')}`, { data: { problems } })
  return r
}
