import { createRequire } from 'node:module'
import { join } from 'node:path'
import { KafkaClientMissingError } from '../errors.ts'
import {
  toBuffer,
  type ConsumerConfig,
  type GroupMetadata,
  type KafkaClientPort,
  type KafkaConsumerPort,
  type KafkaProducerPort,
  type KafkaRecord,
  type OutRecord,
  type ProducerConfig,
  type RebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../KafkaPort.ts'
import { mapNativeError } from './confluentErrors.ts'
import type { ConfluentModule, NativeCallback, NativeError, NativeKafkaConsumer, NativeMessage, NativeProducer } from './confluentTypes.ts'

export const CONFLUENT_PACKAGE = '@confluentinc/kafka-javascript'

/**
 * Loads librdkafka's node binding: from `fromDir` (a directory whose node_modules holds a built
 * copy, as the test suite's cache) or from the application's own dependencies. It is native and
 * built from source, so it is never a hard dependency of troupe; one clear error when it is absent.
 */
export function loadConfluentKafka(fromDir?: string): ConfluentModule {
  const base = fromDir === undefined ? join(process.cwd(), 'package.json') : join(fromDir, 'package.json')
  try {
    return createRequire(base)(CONFLUENT_PACKAGE) as ConfluentModule
  } catch (error) {
    throw new KafkaClientMissingError(
      `the Kafka client ${CONFLUENT_PACKAGE} could not be loaded${fromDir === undefined ? '' : ` from ${fromDir}`}: install it (npm install ${CONFLUENT_PACKAGE}; it builds librdkafka) — ${String((error as Error).message).split('\n')[0]}`,
      { cause: error, data: { package: CONFLUENT_PACKAGE, fromDir: fromDir ?? null } },
    )
  }
}

export interface ConfluentKafkaClientOptions {
  /** `host:port,host:port`. */
  readonly brokers: string
  /** Where the binding is installed (see `loadConfluentKafka`); default the application's node_modules. */
  readonly moduleDir?: string
  /** Extra librdkafka properties for every client (security.protocol, sasl.*, …). */
  readonly config?: Readonly<Record<string, string | number | boolean>>
  /** Deadline of transactional calls (init, commit, abort, sendOffsets). Default 30000. */
  readonly requestTimeoutMs?: number
}

const NATIVE = Symbol('troupe.kafka.nativeConsumer')

function call<T = void>(codes: Readonly<Record<string, number>>, operation: string, run: (cb: NativeCallback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      run((err, value) => (err ? reject(mapNativeError(err, codes, operation)) : resolve(value)))
    } catch (error) {
      reject(mapNativeError(error, codes, operation))
    }
  })
}

/** The real client port over librdkafka (node-rdkafka API of @confluentinc/kafka-javascript). */
export class ConfluentKafkaClient implements KafkaClientPort {
  readonly module: ConfluentModule
  private readonly options: ConfluentKafkaClientOptions

  constructor(options: ConfluentKafkaClientOptions) {
    this.options = options
    this.module = loadConfluentKafka(options.moduleDir)
  }

  producer(config: ProducerConfig): KafkaProducerPort {
    return new ConfluentProducer(this.module, this.options, config)
  }

  consumer(config: ConsumerConfig): KafkaConsumerPort {
    return new ConfluentConsumer(this.module, this.options, config)
  }
}

function headersOf(raw: NativeMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of raw ?? []) for (const [k, v] of Object.entries(h)) out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v)
  return out
}

class ConfluentProducer implements KafkaProducerPort {
  private readonly native: NativeProducer
  private readonly codes: Readonly<Record<string, number>>
  private readonly timeoutMs: number

  constructor(mod: ConfluentModule, options: ConfluentKafkaClientOptions, config: ProducerConfig) {
    this.codes = mod.CODES.ERRORS
    this.timeoutMs = options.requestTimeoutMs ?? 30_000
    this.native = new mod.Producer({
      ...options.config,
      'bootstrap.servers': options.brokers,
      'client.id': config.clientId ?? 'troupe',
      dr_cb: true,
      'enable.idempotence': true,
      ...(config.transactionalId === undefined ? {} : { 'transactional.id': config.transactionalId }),
      ...(config.transactionTimeoutMs === undefined ? {} : { 'transaction.timeout.ms': config.transactionTimeoutMs }),
      ...(config.requestTimeoutMs === undefined ? {} : { 'message.timeout.ms': config.requestTimeoutMs }),
    })
    // Each produce carries its own settle function as the opaque; the delivery report calls it.
    this.native.on('delivery-report', (err: NativeError | null, report: { opaque?: unknown }) => {
      const settle = report?.opaque
      if (typeof settle === 'function') (settle as (e: NativeError | null) => void)(err)
    })
    this.native.on('event.error', () => undefined)
  }

  async connect(): Promise<void> {
    await call(this.codes, 'connect', (cb) => this.native.connect({}, cb as NativeCallback<unknown>))
    this.native.setPollInterval(5)
  }

  initTransactions(): Promise<void> {
    return call(this.codes, 'initTransactions', (cb) => this.native.initTransactions(this.timeoutMs, cb))
  }

  beginTransaction(): Promise<void> {
    return call(this.codes, 'beginTransaction', (cb) => this.native.beginTransaction(cb))
  }

  send(records: readonly OutRecord[]): Promise<void> {
    return Promise.all(
      records.map(
        (r) =>
          new Promise<void>((resolve, reject) => {
            const settle = (err: NativeError | null): void => (err ? reject(mapNativeError(err, this.codes, 'send')) : resolve())
            try {
              const headers = Object.entries(r.headers ?? {}).map(([k, v]) => ({ [k]: v }))
              this.native.produce(r.topic, r.partition ?? null, toBuffer(r.value), toBuffer(r.key), null, settle, headers)
            } catch (error) {
              reject(mapNativeError(error, this.codes, 'send'))
            }
          }),
      ),
    ).then(() => undefined)
  }

  sendOffsets(offsets: readonly TopicPartitionOffset[], group: GroupMetadata): Promise<void> {
    const consumer = (group as GroupMetadata & { [NATIVE]?: NativeKafkaConsumer })[NATIVE]
    return call(this.codes, 'sendOffsets', (cb) => {
      if (consumer === undefined) throw Object.assign(new Error('group metadata of a consumer from another client'), { code: this.codes['ERR__STATE'] })
      this.native.sendOffsetsToTransaction(offsets.map((o) => ({ ...o })), consumer, this.timeoutMs, cb)
    })
  }

  commitTransaction(): Promise<void> {
    return call(this.codes, 'commitTransaction', (cb) => this.native.commitTransaction(this.timeoutMs, cb))
  }

  abortTransaction(): Promise<void> {
    return call(this.codes, 'abortTransaction', (cb) => this.native.abortTransaction(this.timeoutMs, cb))
  }

  disconnect(): Promise<void> {
    return call(this.codes, 'disconnect', (cb) => this.native.disconnect(cb as NativeCallback<unknown>))
  }
}

class ConfluentConsumer implements KafkaConsumerPort {
  private readonly native: NativeKafkaConsumer
  private readonly codes: Readonly<Record<string, number>>
  private readonly groupId: string
  private listener: RebalanceListener | null = null
  private assigned: TopicPartition[] = []
  /** Cooperative: revoked partitions not handed back yet (the next poll does). */
  private releasing: TopicPartition[] = []
  private closing = false

  constructor(mod: ConfluentModule, options: ConfluentKafkaClientOptions, config: ConsumerConfig) {
    this.codes = mod.CODES.ERRORS
    this.groupId = config.groupId
    const codes = this.codes
    const cooperative = config.rebalanceProtocol === 'cooperative'
    // The rebalance callback runs on this thread (dispatched from librdkafka's): tell the bridge, then (un)assign.
    const rebalance = (err: NativeError, assignment: TopicPartition[]): void => {
      const tps = assignment.map((tp) => ({ topic: tp.topic, partition: tp.partition }))
      if (err.code === codes['ERR__ASSIGN_PARTITIONS']) {
        if (cooperative) {
          this.native.incrementalAssign(tps)
          this.assigned = [...this.assigned, ...tps]
        } else {
          this.native.assign(tps)
          this.assigned = tps
        }
        this.listener?.onAssign(tps)
      } else if (cooperative && !this.closing) {
        // Cooperative: librdkafka rejoins (and the partitions go to their new owner) only once they
        // are unassigned, which the next poll does, after the bridge committed or aborted their work.
        const gone = new Set(tps.map((tp) => `${tp.topic}\u0000${tp.partition}`))
        this.assigned = this.assigned.filter((tp) => !gone.has(`${tp.topic}\u0000${tp.partition}`))
        this.releasing.push(...tps)
        this.listener?.onRevoke(tps)
      } else if (cooperative) {
        // Closing: librdkafka waits for this unassign before it leaves the group.
        this.assigned = []
        this.listener?.onRevoke(tps)
        this.native.incrementalUnassign(tps)
      } else {
        this.listener?.onRevoke(this.assigned)
        this.native.unassign()
        this.assigned = []
      }
    }
    this.native = new mod.KafkaConsumer(
      {
        ...options.config,
        'bootstrap.servers': options.brokers,
        'group.id': config.groupId,
        'client.id': config.clientId ?? 'troupe',
        'enable.auto.commit': false,
        'isolation.level': config.isolation,
        ...(cooperative ? { 'partition.assignment.strategy': 'cooperative-sticky' } : {}),
        ...(config.sessionTimeoutMs === undefined ? {} : { 'session.timeout.ms': config.sessionTimeoutMs }),
        rebalance_cb: rebalance,
      },
      { 'auto.offset.reset': config.autoOffsetReset ?? 'earliest' },
    )
    this.native.on('event.error', () => undefined)
  }

  async connect(): Promise<void> {
    await call(this.codes, 'connect', (cb) => this.native.connect({}, cb as NativeCallback<unknown>))
    this.native.setDefaultConsumeTimeout(50)
  }

  async subscribe(topics: readonly string[], listener: RebalanceListener): Promise<void> {
    this.listener = listener
    await call(this.codes, 'subscribe', (cb) => {
      this.native.subscribe([...topics])
      cb(null, undefined as never)
    })
  }

  poll(max: number): Promise<KafkaRecord[]> {
    if (this.releasing.length > 0) {
      const tps = this.releasing.splice(0)
      try {
        this.native.incrementalUnassign(tps)
      } catch (error) {
        return Promise.reject(mapNativeError(error, this.codes, 'poll'))
      }
    }
    return call<NativeMessage[]>(this.codes, 'poll', (cb) => this.native.consume(max, cb)).then((messages) =>
      messages.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset,
        key: m.key === undefined || m.key === null ? null : toBuffer(m.key),
        value: m.value,
        headers: headersOf(m.headers),
        timestamp: m.timestamp ?? 0,
      })),
    )
  }

  pause(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.native.pause(partitions.map((tp) => ({ ...tp })))
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (partitions.length > 0) this.native.resume(partitions.map((tp) => ({ ...tp })))
  }

  seek(target: TopicPartitionOffset): void {
    this.native.seek({ ...target }, 0, () => undefined)
  }

  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    try {
      this.native.commitSync(offsets.map((o) => ({ ...o })))
    } catch (error) {
      throw mapNativeError(error, this.codes, 'commitOffsets')
    }
  }

  async committed(partitions: readonly TopicPartition[]): Promise<(number | null)[]> {
    const result = await call<{ topic: string; partition: number; offset?: number }[]>(this.codes, 'committed', (cb) => this.native.committed(partitions.map((tp) => ({ ...tp })), 10_000, cb))
    return partitions.map((tp) => {
      const found = result.find((r) => r.topic === tp.topic && r.partition === tp.partition)
      return found?.offset === undefined || found.offset < 0 ? null : found.offset
    })
  }

  groupMetadata(): GroupMetadata {
    // librdkafka reads the generation and member id from the consumer itself (KIP-447): pass it along.
    const meta = { groupId: this.groupId, generationId: -1, memberId: '' }
    Object.defineProperty(meta, NATIVE, { value: this.native, enumerable: false })
    return meta
  }

  assignment(): TopicPartition[] {
    return [...this.assigned]
  }

  lag(partitions: readonly TopicPartition[]): (number | null)[] {
    // librdkafka's cached high watermark is the last stable offset under read_committed.
    let positions: { topic: string; partition: number; offset?: number }[] = []
    try {
      positions = this.native.position(partitions.map((tp) => ({ ...tp })))
    } catch {
      return partitions.map(() => null)
    }
    return partitions.map((tp, i) => {
      const at = positions[i]?.offset
      if (at === undefined || at < 0) return null
      try {
        const { highOffset } = this.native.getWatermarkOffsets(tp.topic, tp.partition)
        return highOffset < 0 ? null : Math.max(0, highOffset - at)
      } catch {
        return null
      }
    })
  }

  disconnect(): Promise<void> {
    this.closing = true
    if (this.releasing.length > 0) {
      try {
        this.native.incrementalUnassign(this.releasing.splice(0))
      } catch {
        // Leaving anyway: the group takes the partitions back when this member is gone.
      }
    }
    return call(this.codes, 'disconnect', (cb) => this.native.disconnect(cb as NativeCallback<unknown>))
  }
}
