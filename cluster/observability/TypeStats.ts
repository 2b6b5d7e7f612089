import type { Registry } from 'prom-client'
import { ActorTypeCounts } from '../../runtime/index.ts'

/** One histogram series on plain numbers: per-bucket counts (non-cumulative; the last is +Inf), sum, count. */
export class HistogramCells {
  readonly buckets: Float64Array
  sum = 0
  count = 0
  constructor(bucketCount: number) {
    this.buckets = new Float64Array(bucketCount + 1)
  }
}

/**
 * One actor type's record: the dispatcher counts `ok`/`failed` on it (ActorTypeCounts) and reports
 * its timed handlers; the processing-time histogram of the timed ones lives beside.
 */
export class TypeRecord extends ActorTypeCounts {
  readonly histogram: HistogramCells
  /** The last timed handler's bucket and seconds, counted again for each untimed one (sample and hold). */
  heldBucket = 0
  heldSeconds = 0
  constructor(actorType: string, bucketCount: number) {
    super(actorType)
    this.histogram = new HistogramCells(bucketCount)
  }
  /** Handlers completed, timed or not. */
  get handled(): number {
    return this.ok + this.failed
  }
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
 * Per-actor-type records the dispatcher counts on (Instrumentation.counting), because a prom-client
 * `inc`/`observe` with labels builds a label hash on every call (hundreds of ns, several per
 * message). The registry reads them when scraped: `troupe_message_processing_seconds` as a
 * histogram; counters by their `collect`.
 *
 * Timing is sampled: the dispatcher times 1 handler in a random gap and each untimed handler counts
 * as its type's last timed one (sample and hold). The untimed ones are not touched one by one: at
 * the next timed handler, or at a scrape, those completed since the last one are added to the held
 * bucket in one step. `_count` is exact; `_sum` and the buckets are estimates, and stay monotonic.
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
      record = new TypeRecord(actorType, this.bounds.length)
      this.records.set(actorType, record)
    }
    return record
  }

  /** A timed handler (already counted in ok/failed): the untimed ones before it are held, then it joins its bucket. */
  observe(record: TypeRecord, seconds: number): void {
    this.hold(record, record.handled - 1)
    const cells = record.histogram
    const i = bucketOf(this.bounds, seconds)
    cells.buckets[i] = (cells.buckets[i] as number) + 1
    cells.sum += seconds
    cells.count++
    record.heldBucket = i
    record.heldSeconds = seconds
  }

  /** Brings the histogram's count up to `handled`, each untimed handler as the last timed one. */
  private hold(record: TypeRecord, handled: number): void {
    const cells = record.histogram
    const untimed = handled - cells.count
    if (untimed <= 0) return
    const i = record.heldBucket
    cells.buckets[i] = (cells.buckets[i] as number) + untimed
    cells.sum += untimed * record.heldSeconds
    cells.count = handled
  }

  /** Every record, its histogram brought up to date (for a scrape). */
  entries(): IterableIterator<[string, TypeRecord]> {
    for (const record of this.records.values()) this.hold(record, record.handled)
    return this.records.entries()
  }

  /**
   * Registers the processing-time histogram, read from these records at scrape time. Each scrape
   * also has the next handler of every type timed: a type too quiet for the random gaps still gets
   * a fresh sample per scrape, at no cost per message.
   */
  registerHistogram(registry: Registry, name: string, help: string): void {
    registerCellHistogram(registry, name, help, 'actor_type', this.bounds, () => {
      const out: [string, HistogramCells][] = []
      for (const [type, record] of this.entries()) {
        record.untilTimed = 1
        out.push([type, record.histogram])
      }
      return out
    })
  }
}
