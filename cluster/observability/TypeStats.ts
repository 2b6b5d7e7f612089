import type { Registry } from 'prom-client'

/** One histogram series on plain numbers: per-bucket counts (non-cumulative; the last is +Inf), sum, count. */
export class HistogramCells {
  readonly buckets: Float64Array
  sum = 0
  count = 0
  constructor(bucketCount: number) {
    this.buckets = new Float64Array(bucketCount + 1)
  }
}

/** What the hot path counts for one actor type: plain numbers, exported at scrape time. */
export class TypeRecord extends HistogramCells {
  ok = 0
  error = 0
  /** User messages waiting in this type's mailboxes. */
  depth = 0
  /** Messages to go before the next timed one (1: time the next). */
  untilTimed = 1
  /** The last timed handler's bucket and seconds, counted again for each untimed message (sample and hold). */
  heldBucket = 0
  heldSeconds = 0
}

/** Index of the bucket `value` falls in (`bounds` sorted; bounds.length is +Inf). */
export function bucketOf(bounds: readonly number[], value: number): number {
  let i = 0
  while (i < bounds.length && value > (bounds[i] as number)) i++
  return i
}

/**
 * Registers a histogram read from plain-number cells at scrape time, in prom-client's own format
 * (so shard registries aggregate as usual). prom-client's `observe` with labels builds a label hash
 * per call (hundreds of ns); these cells cost an array increment.
 */
export function registerCellHistogram(
  registry: Registry,
  name: string,
  help: string,
  labelName: string,
  bounds: readonly number[],
  entries: () => Iterable<[string, HistogramCells]>,
): void {
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    labelNames: [labelName],
    aggregator: 'sum',
    get: async () => {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = []
      for (const [label, cells] of entries()) {
        let cumulative = 0
        for (let i = 0; i <= bounds.length; i++) {
          cumulative += cells.buckets[i] as number
          values.push({ labels: { le: i < bounds.length ? (bounds[i] as number) : '+Inf', [labelName]: label }, value: cumulative, metricName: `${name}_bucket` })
        }
        values.push({ labels: { [labelName]: label }, value: cells.sum, metricName: `${name}_sum` })
        values.push({ labels: { [labelName]: label }, value: cells.count, metricName: `${name}_count` })
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    },
    reset: () => {},
  } as never)
}

/**
 * Per-actor-type counters kept on plain numbers, because a prom-client `inc`/`observe` with labels
 * builds a label hash on every call (hundreds of ns, several per message). The registry reads
 * them when scraped: `troupe_message_processing_seconds` as a histogram; counters and gauges by
 * their `collect`.
 */
export class TypeStats {
  readonly bounds: readonly number[]
  private readonly records = new Map<string, TypeRecord>()
  // One-entry front cache: a run of messages to one actor type skips the map.
  private lastType: string | null = null
  private lastRecord: TypeRecord | null = null

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b)
  }

  of(actorType: string): TypeRecord {
    if (actorType === this.lastType) return this.lastRecord as TypeRecord
    let record = this.records.get(actorType)
    if (record === undefined) {
      record = new TypeRecord(this.bounds.length)
      this.records.set(actorType, record)
    }
    this.lastType = actorType
    this.lastRecord = record
    return record
  }

  /** A timed handler: counted in its bucket, and held for the untimed ones that follow. */
  observe(record: TypeRecord, seconds: number): void {
    const i = bucketOf(this.bounds, seconds)
    record.buckets[i] = (record.buckets[i] as number) + 1
    record.sum += seconds
    record.count++
    record.heldBucket = i
    record.heldSeconds = seconds
  }

  /** An untimed handler: counts as its type's last timed one. */
  hold(record: TypeRecord): void {
    const i = record.heldBucket
    record.buckets[i] = (record.buckets[i] as number) + 1
    record.sum += record.heldSeconds
    record.count++
  }

  entries(): IterableIterator<[string, TypeRecord]> {
    return this.records.entries()
  }

  /** Registers the processing-time histogram, read from these records at scrape time. */
  registerHistogram(registry: Registry, name: string, help: string): void {
    registerCellHistogram(registry, name, help, 'actor_type', this.bounds, () => this.entries())
  }
}
