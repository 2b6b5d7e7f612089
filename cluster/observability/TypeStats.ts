import type { Registry } from 'prom-client'

/** What the hot path counts for one actor type: plain numbers, exported at scrape time. */
export class TypeRecord {
  ok = 0
  error = 0
  /** User messages waiting in this type's mailboxes. */
  depth = 0
  /** Handling time: per-bucket counts (non-cumulative; the last is +Inf), sum in seconds, count. */
  readonly buckets: Float64Array
  sum = 0
  count = 0
  constructor(bucketCount: number) {
    this.buckets = new Float64Array(bucketCount + 1)
  }
}

/**
 * Per-actor-type counters kept on plain numbers, because a prom-client `inc`/`observe` with labels
 * builds a label hash on every call (hundreds of ns, several per message). The registry reads
 * them when scraped: `troupe_message_processing_seconds` as a histogram in prom-client's own
 * format (so shard registries aggregate as usual); counters and gauges by their `collect`.
 */
export class TypeStats {
  readonly bounds: readonly number[]
  private readonly records = new Map<string, TypeRecord>()

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b)
  }

  of(actorType: string): TypeRecord {
    let record = this.records.get(actorType)
    if (record === undefined) {
      record = new TypeRecord(this.bounds.length)
      this.records.set(actorType, record)
    }
    return record
  }

  observe(record: TypeRecord, seconds: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && seconds > (bounds[i] as number)) i++
    record.buckets[i] = (record.buckets[i] as number) + 1
    record.sum += seconds
    record.count++
  }

  entries(): IterableIterator<[string, TypeRecord]> {
    return this.records.entries()
  }

  /** Registers the processing-time histogram, read from these records at scrape time. */
  registerHistogram(registry: Registry, name: string, help: string): void {
    registry.registerMetric({
      name,
      help,
      type: 'histogram',
      labelNames: ['actor_type'],
      aggregator: 'sum',
      get: async () => {
        const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
        for (const [actorType, record] of this.entries()) {
          let cumulative = 0
          for (let i = 0; i <= this.bounds.length; i++) {
            cumulative += record.buckets[i] as number
            values.push({ labels: { le: i < this.bounds.length ? (this.bounds[i] as number) : '+Inf', actor_type: actorType }, value: cumulative, metricName: `${name}_bucket` })
          }
          values.push({ labels: { actor_type: actorType }, value: record.sum, metricName: `${name}_sum` })
          values.push({ labels: { actor_type: actorType }, value: record.count, metricName: `${name}_count` })
        }
        return { name, help, type: 'histogram', values, aggregator: 'sum' }
      },
      reset: () => {},
    } as never)
  }
}
