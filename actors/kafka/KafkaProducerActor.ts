import type { Registry } from 'prom-client'
import { Actor } from '../../runtime/index.ts'
import { backoffDelay } from '../../supervision/index.ts'
import { BridgeMetrics } from './BridgeMetrics.ts'
import { KafkaClosedError, kafkaErrorKind, KafkaInvalidConfigError, KafkaProduceFailedError } from './errors.ts'
import type { KafkaClientPort, KafkaProducerPort, OutRecord } from './KafkaPort.ts'

export interface KafkaProducerOptions {
  readonly name: string
  readonly client: KafkaClientPort
  /** Records per request at most; calls that arrive while one is out are sent together in the next. Default 500. */
  readonly maxBatch?: number
  /** Transient failures: retried from `minMs` to `maxMs`; after `maxAttempts` the calls fail with ERR_KAFKA_PRODUCE_FAILED. */
  readonly retry?: { readonly minMs?: number; readonly maxMs?: number; readonly maxAttempts?: number }
  /** Where `troupe_kafka_records_produced_total{bridge=<name>}` and `troupe_kafka_retries_total` go. Default: none. */
  readonly registry?: Registry
}

export interface KafkaProducerProtocol {
  /**
   * Produces the records; resolves once Kafka acknowledged them (at-least-once: a retry after a
   * lost acknowledgement can write twice). Rejects with ERR_KAFKA_PRODUCE_FAILED after the retries,
   * ERR_KAFKA_CLOSED while stopping. Told instead of asked, a failure becomes a dead letter (`rejected`).
   */
  produce(records: OutRecord | readonly OutRecord[]): Promise<void>
  stats(): { readonly produced: number; readonly requests: number; readonly retries: number; readonly failed: number; readonly queued: number }
}

interface Pending {
  readonly records: readonly OutRecord[]
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/**
 * The producer side: actors tell or ask it to produce. Calls that arrive while a request is out
 * are coalesced into the next one, in arrival order, so one caller's records keep their order.
 * Fatal errors (auth) fail the actor and go to its supervisor; the calls waiting get the error.
 */
export class KafkaProducerActor extends Actor<KafkaProducerProtocol> implements KafkaProducerProtocol {
  static readonly reentrant = true
  private readonly producer: KafkaProducerPort
  private readonly name: string
  private readonly maxBatch: number
  private readonly retry: { minMs: number; maxMs: number; maxAttempts: number }
  private readonly queue: Pending[] = []
  private flushing = false
  private closing = false
  private readonly counters = { produced: 0, requests: 0, retries: 0, failed: 0 }
  private readonly metrics: BridgeMetrics

  constructor(options: KafkaProducerOptions) {
    super()
    this.name = options.name
    this.maxBatch = options.maxBatch ?? 500
    this.retry = { minMs: options.retry?.minMs ?? 100, maxMs: options.retry?.maxMs ?? 5000, maxAttempts: options.retry?.maxAttempts ?? 8 }
    const problems: string[] = []
    if (typeof this.name !== 'string' || this.name.length === 0) problems.push('name must be a non-empty string')
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch > 0)) problems.push('maxBatch must be a positive integer')
    if (!(this.retry.minMs > 0 && this.retry.maxMs >= this.retry.minMs && Number.isInteger(this.retry.maxAttempts) && this.retry.maxAttempts > 0)) problems.push('retry needs 0 < minMs <= maxMs and a positive maxAttempts')
    if (problems.length > 0) throw new KafkaInvalidConfigError(`invalid KafkaProducer options: ${problems.join('; ')}`, { data: { problems } })
    this.producer = options.client.producer({ clientId: this.name })
    this.metrics = new BridgeMetrics(options.registry ?? null, this.name)
  }

  override async preStart(): Promise<void> {
    await this.producer.connect()
  }

  override async onStopping(): Promise<void> {
    this.closing = true
    // Calls already accepted are still sent; new ones are refused.
    while (this.flushing) await new Promise<void>((resolve) => this.context.system.clock.setTimer(5, resolve))
    await this.producer.disconnect().catch(() => undefined)
  }

  stats(): { readonly produced: number; readonly requests: number; readonly retries: number; readonly failed: number; readonly queued: number } {
    return { ...this.counters, queued: this.queue.reduce((n, p) => n + p.records.length, 0) }
  }

  produce(records: OutRecord | readonly OutRecord[]): Promise<void> {
    if (this.closing) return Promise.reject(new KafkaClosedError(`Kafka producer '${this.name}' is closing`, { data: { producer: this.name } }))
    const list: readonly OutRecord[] = Array.isArray(records) ? records : [records as OutRecord]
    if (!list.every((r) => typeof r === 'object' && r !== null && typeof r.topic === 'string' && r.topic.length > 0)) {
      return Promise.reject(new KafkaInvalidConfigError('produce: every record needs a topic', { data: { problems: ['topic'] } }))
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records: list, resolve, reject })
      if (!this.flushing) void this.flush()
    })
  }

  private async flush(): Promise<void> {
    this.flushing = true
    try {
      while (this.queue.length > 0) {
        const taken: Pending[] = []
        let size = 0
        while (this.queue.length > 0 && (taken.length === 0 || size + (this.queue[0] as Pending).records.length <= this.maxBatch)) {
          const next = this.queue.shift() as Pending
          taken.push(next)
          size += next.records.length
        }
        const error = await this.sendWithRetry(taken.flatMap((p) => p.records))
        if (error === null) {
          this.counters.produced += size
          this.metrics.produced(size)
          for (const p of taken) p.resolve()
          continue
        }
        this.counters.failed += size
        for (const p of taken) p.reject(error)
        // A fatal error (not a Rejection) fails every waiting handler, and so the actor: its supervisor decides.
        if (kafkaErrorKind(error) === 'fatal') for (const p of this.queue.splice(0)) p.reject(error)
      }
    } finally {
      this.flushing = false
    }
  }

  private async sendWithRetry(records: readonly OutRecord[]): Promise<Error | null> {
    for (let attempt = 0; ; attempt++) {
      this.counters.requests++
      try {
        await this.producer.send(records)
        return null
      } catch (error) {
        const kind = kafkaErrorKind(error)
        if (kind === 'fatal') return error as Error
        if (attempt + 1 >= this.retry.maxAttempts) {
          return new KafkaProduceFailedError(`producing ${records.length} record(s) failed after ${attempt + 1} attempts: ${String((error as Error).message ?? error)}`, { cause: error, data: { producer: this.name, topic: records[0]?.topic, attempts: attempt + 1 } })
        }
        this.counters.retries++
        this.metrics.retry()
        const delay = backoffDelay({ minMs: this.retry.minMs, maxMs: this.retry.maxMs, randomFactor: 0.2 }, attempt, this.context.system.random)
        await new Promise<void>((resolve) => this.context.system.clock.setTimer(delay, resolve))
      }
    }
  }
}
