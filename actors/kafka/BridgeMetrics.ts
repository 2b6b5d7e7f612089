import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** What a running bridge reports at scrape time. */
export interface BridgeGauges {
  lag(): { readonly topic: string; readonly partition: number; readonly lag: number }[]
  pausedPartitions(): number
}

/**
 * The `troupe_kafka_*` metrics of one registry, shared by every bridge and producer on it. Labels
 * stay bounded: `bridge` is the operator's name for a bridge, and the lag gauge is labelled by
 * topic and partition of the current assignment only (rebuilt at each scrape, so partitions that
 * moved away leave no series behind).
 */
class KafkaMetricSet {
  readonly consumed: Counter<'bridge'>
  readonly produced: Counter<'bridge'>
  readonly transactions: Counter<'bridge' | 'outcome'>
  readonly batchRecords: Histogram<'bridge'>
  readonly batchSeconds: Histogram<'bridge'>
  readonly rebalances: Counter<'bridge' | 'kind'>
  readonly retries: Counter<'bridge'>
  readonly dlq: Counter<'bridge'>
  readonly sources = new Map<BridgeMetrics, BridgeGauges>()

  constructor(registry: Registry) {
    const registers = [registry]
    this.consumed = new Counter({ name: 'troupe_kafka_records_consumed_total', help: 'Records a Kafka bridge polled and handed to its target (again after a retry).', labelNames: ['bridge'], registers })
    this.produced = new Counter({ name: 'troupe_kafka_records_produced_total', help: 'Records produced and acknowledged: answers and DLQ copies of a bridge, records of a producer actor.', labelNames: ['bridge'], registers })
    this.transactions = new Counter({ name: 'troupe_kafka_transactions_total', help: 'Kafka transactions of a bridge in exactly-once mode, by outcome: committed or aborted.', labelNames: ['bridge', 'outcome'], registers })
    this.batchRecords = new Histogram({ name: 'troupe_kafka_batch_records', help: 'Records per committed batch (one transaction, or one offset commit).', labelNames: ['bridge'], buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000], registers })
    this.batchSeconds = new Histogram({ name: 'troupe_kafka_batch_duration_seconds', help: 'From the first record of a batch to its commit.', labelNames: ['bridge'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers })
    this.rebalances = new Counter({ name: 'troupe_kafka_rebalances_total', help: 'Rebalance callbacks a bridge got, by kind: assign or revoke.', labelNames: ['bridge', 'kind'], registers })
    this.retries = new Counter({ name: 'troupe_kafka_retries_total', help: 'Transient failures a bridge retried after a backoff.', labelNames: ['bridge'], registers })
    this.dlq = new Counter({ name: 'troupe_kafka_dlq_records_total', help: 'Records a bridge sent to its dead-letter topic (undecodable or refused by the target).', labelNames: ['bridge'], registers })
    const lag: Gauge<'bridge' | 'topic' | 'partition'> = new Gauge({
      name: 'troupe_kafka_consumer_lag',
      help: 'Records between a bridge consumer\'s position and the end of an assigned partition (last stable offset under read_committed).',
      labelNames: ['bridge', 'topic', 'partition'],
      registers,
      collect: () => {
        lag.reset()
        for (const [m, g] of this.sources) for (const l of g.lag()) lag.set({ bridge: m.bridge, topic: l.topic, partition: String(l.partition) }, l.lag)
      },
    })
    const paused: Gauge<'bridge'> = new Gauge({
      name: 'troupe_kafka_paused_partitions',
      help: 'Partitions a bridge holds paused (backpressure from its target, or waiting for their transactional producer).',
      labelNames: ['bridge'],
      registers,
      collect: () => {
        paused.reset()
        for (const [m, g] of this.sources) paused.inc({ bridge: m.bridge }, g.pausedPartitions())
      },
    })
  }
}

const byRegistry = new WeakMap<Registry, KafkaMetricSet>()

/** One bridge's (or producer's) handle on the metrics; every method is a no-op without a registry. */
export class BridgeMetrics {
  readonly bridge: string
  private readonly set: KafkaMetricSet | null

  constructor(registry: Registry | null, bridge: string, gauges?: BridgeGauges) {
    this.bridge = bridge
    if (registry === null) {
      this.set = null
      return
    }
    let set = byRegistry.get(registry)
    if (set === undefined) byRegistry.set(registry, (set = new KafkaMetricSet(registry)))
    this.set = set
    if (gauges !== undefined) set.sources.set(this, gauges)
  }

  consumed(n: number): void {
    this.set?.consumed.inc({ bridge: this.bridge }, n)
  }

  produced(n: number): void {
    this.set?.produced.inc({ bridge: this.bridge }, n)
  }

  dlq(n: number): void {
    this.set?.dlq.inc({ bridge: this.bridge }, n)
  }

  retry(): void {
    this.set?.retries.inc({ bridge: this.bridge })
  }

  rebalance(kind: 'assign' | 'revoke'): void {
    this.set?.rebalances.inc({ bridge: this.bridge, kind })
  }

  transaction(outcome: 'committed' | 'aborted'): void {
    this.set?.transactions.inc({ bridge: this.bridge, outcome })
  }

  batch(records: number, seconds: number): void {
    if (this.set === null) return
    this.set.batchRecords.observe({ bridge: this.bridge }, records)
    this.set.batchSeconds.observe({ bridge: this.bridge }, seconds)
  }

  /** The bridge stopped: its gauges leave the scrape; its counters stay (a `_total` never goes down). */
  close(): void {
    this.set?.sources.delete(this)
  }
}
