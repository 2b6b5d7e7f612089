import { Gauge, type Registry } from 'prom-client'
import type { QueueStats } from './TaskStore.ts'

interface Source {
  readonly queue: string
  stats(): Promise<QueueStats>
}

/**
 * Prometheus gauges of task queues on a caller's registry, read from Redis at scrape time (one
 * atomic stats script per queue, so the figures agree with each other). `queue` and `priority`
 * are the configured names (a bounded set), never task ids. A queue whose stats cannot be read
 * is left out of that scrape and counted in `troupe_task_queue_scrape_errors`.
 */
export class TaskQueueMetrics {
  private readonly sources = new Set<Source>()
  private scrapeErrors = 0

  constructor(registry: Registry) {
    const registers = [registry]
    let snapshot: Promise<QueueStats[]> | null = null
    // Every gauge's collect runs in the same scrape: read Redis once per scrape, not once per gauge.
    const read = (): Promise<QueueStats[]> => {
      if (snapshot === null) {
        snapshot = Promise.all([...this.sources].map((s) => s.stats().catch(() => {
          this.scrapeErrors++
          return null
        }))).then((all) => all.filter((s): s is QueueStats => s !== null))
        void snapshot.finally(() => void Promise.resolve().then(() => (snapshot = null)))
      }
      return snapshot
    }
    const gauge = (name: string, help: string, labels: readonly string[], fill: (g: Gauge, all: QueueStats[]) => void): void => {
      const g: Gauge = new Gauge({
        name,
        help,
        labelNames: labels as string[],
        registers,
        async collect() {
          const all = await read()
          g.reset()
          fill(g, all)
        },
      })
    }
    gauge('troupe_task_queue_depth', 'Tasks waiting (enqueued, not yet delivered) per queue and priority.', ['queue', 'priority'], (g, all) => {
      for (const s of all) for (const p of s.priorities) g.set({ queue: s.queue, priority: p.priority }, p.waiting)
    })
    gauge('troupe_task_queue_in_flight', 'Tasks delivered and not yet settled per queue and priority.', ['queue', 'priority'], (g, all) => {
      for (const s of all) for (const p of s.priorities) g.set({ queue: s.queue, priority: p.priority }, p.inFlight)
    })
    gauge('troupe_task_queue_delayed', 'Tasks waiting in the delayed set (retries with backoff, delayed enqueues).', ['queue'], (g, all) => {
      for (const s of all) g.set({ queue: s.queue }, s.delayed)
    })
    gauge('troupe_task_queue_dead_letters', 'Records in the dead-letter stream.', ['queue'], (g, all) => {
      for (const s of all) g.set({ queue: s.queue }, s.dlq)
    })
    gauge('troupe_task_queue_oldest_age_seconds', 'Age of the oldest task waiting or in flight (Redis time).', ['queue'], (g, all) => {
      for (const s of all) g.set({ queue: s.queue }, s.oldestAgeMs / 1000)
    })
    gauge('troupe_task_queue_events', 'Counters kept in Redis since the queue was created: completed, retries, dead, reclaimed, malformed.', ['queue', 'event'], (g, all) => {
      for (const s of all) for (const [event, n] of Object.entries(s.counters)) g.set({ queue: s.queue, event }, n)
    })
    const errors: Gauge = new Gauge({ name: 'troupe_task_queue_scrape_errors', help: 'Stats reads that failed (Redis down or slow).', registers, collect: () => errors.set(this.scrapeErrors) })
  }

  /** Reports a queue (e.g. `(q) => producer.stats(q)` or an actor ask); the returned function stops it. */
  add(queue: string, stats: () => Promise<QueueStats>): () => void {
    const source: Source = { queue, stats }
    this.sources.add(source)
    return () => {
      this.sources.delete(source)
    }
  }
}
