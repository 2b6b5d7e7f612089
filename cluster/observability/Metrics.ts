import { collectDefaultMetrics, Counter, Gauge, type Registry } from 'prom-client'
import {
  DeadLetterTopic,
  LifecycleTopic,
  type ActorRef,
  type ActorSystem,
  type ActorTypeCounts,
  type Envelope,
  type Instrumentation,
  type MailboxHooks,
  type Subscription,
} from '../../runtime/index.ts'
import { SupervisorEventTopic } from '../../supervision/index.ts'
import type { RemotingStats, ShardedSystemStats } from '../../transport/index.ts'
import type { GatewayStats } from '../gateway/GatewayStats.ts'
import { EdgeMetrics, type UnauthenticatedSource } from './EdgeMetrics.ts'
import { bucketOf, HistogramCells, registerCellHistogram, TypeStats, type TypeRecord } from './TypeStats.ts'

export interface MetricsOptions {
  /** The caller's registry; Troupe never touches prom-client's global one. */
  readonly registry: Registry
  /** Buckets of the processing-time histogram, in seconds. */
  readonly processingBuckets?: readonly number[]
  /**
   * Share of handler invocations whose duration is measured, in (0, 1]; default 1/128. Reading the
   * clock twice costs several tells (0.2 µs a read on some virtual machines), so by default about
   * 1 message in 128 per actor type is timed (at random gaps, so periodic traffic does not alias),
   * plus the first of each type after every scrape (so a quiet type still gets a fresh figure per
   * scrape). Each untimed one counts as its type's last timed one (sample and hold): `_count` stays
   * exact, `_sum` and the buckets are estimates. 1 times every message.
   */
  readonly handlerTimingRatio?: number
  /** Buckets of the ask-duration histogram, in seconds. */
  readonly askBuckets?: readonly number[]
  /**
   * Also collect prom-client's default metrics on the registry: `process_*` (CPU, memory, file
   * descriptors) and `nodejs_*` (event-loop lag and its percentiles, heap, GC), under their
   * standard names so stock dashboards read them. Off by default: a registry must collect them
   * once, and the caller may already do so.
   */
  readonly defaultMetrics?: boolean
}

/** What the depth gauge reads of a local ref's cell. */
interface MailboxView {
  readonly actorType: string
  readonly mailboxSize: number
  readonly isAlive: boolean
  readonly children: readonly ActorRef<any>[]
}

const ASK_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30]

/** A bounded `outcome` label: ok, a typed error's stable code (ERR_*), else `error`. */
export function outcomeOf(error: Error | null): string {
  if (error === null) return 'ok'
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && /^ERR_[A-Z0-9_]{1,60}$/.test(code) ? code : 'error'
}

const DEFAULT_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

/**
 * Prometheus metrics for actor systems, on a registry the caller supplies. Names are `troupe_*`
 * in base units; labels are actor *types*, never actor ids or paths (cardinality stays bounded).
 * Install `instrumentation` and `mailboxHooks` in ActorSystem options, then `observe(system)`.
 */
export class TroupeMetrics {
  readonly registry: Registry
  /** Messages handled, handling time and mailbox depth per actor type: plain numbers on the hot path. */
  private readonly types: TypeStats
  private readonly deadLetters: Counter<'reason'>
  private readonly lifecycle: Counter<'actor_type' | 'event'>
  private readonly supervision: Counter<'event'>
  /** Ask durations by outcome, on plain numbers (read at scrape time). */
  private readonly asks = new Map<string, HistogramCells>()
  private readonly askBounds: readonly number[]
  /** Mean gap between timed handlers (1: every one), and the xorshift state drawing the gaps. */
  private readonly timingPeriod: number
  private gapState = 0x9e3779b9
  /** Systems whose mailboxes the depth gauge sums at scrape time. */
  private readonly systems: ActorSystem[] = []
  private readonly askTimeouts: Counter
  private readonly remotingSources: RemotingStats[] = []
  private readonly shardSources: (() => Promise<ShardedSystemStats>)[] = []
  private readonly subscriptions: Subscription[] = []
  private readonly edge: EdgeMetrics

  constructor(options: MetricsOptions) {
    const registers = [options.registry]
    this.registry = options.registry
    const types = new TypeStats(options.processingBuckets ?? DEFAULT_BUCKETS)
    this.types = types
    const processed: Counter<'actor_type' | 'outcome'> = new Counter({
      name: 'troupe_messages_processed_total',
      help: 'Messages handled, by actor type and outcome (ok | error).',
      labelNames: ['actor_type', 'outcome'],
      registers,
      collect: () => {
        processed.reset()
        for (const [type, record] of types.entries()) {
          processed.inc({ actor_type: type, outcome: 'ok' }, record.ok)
          if (record.failed > 0) processed.inc({ actor_type: type, outcome: 'error' }, record.failed)
        }
      },
    })
    types.registerHistogram(this.registry, 'troupe_message_processing_seconds', 'Time from handler start to completion (async handlers until they settle); measured on a sample of handlers (handlerTimingRatio, default 1/128, and the first after each scrape), each untimed one counted as its type\'s last timed one.')
    const mailbox: Gauge<'actor_type'> = new Gauge({
      name: 'troupe_mailbox_messages',
      help: 'User messages waiting in mailboxes, summed by actor type.',
      labelNames: ['actor_type'],
      registers,
      // Read from the mailboxes at scrape time (one walk of each observed system's tree), so sending
      // and handling pay nothing for it.
      collect: () => {
        const depths = this.mailboxDepths()
        mailbox.reset()
        for (const [type, depth] of depths) mailbox.set({ actor_type: type }, depth)
      },
    })
    this.deadLetters = new Counter({
      name: 'troupe_dead_letters_total',
      help: 'Messages that could not be delivered or handled, by reason.',
      labelNames: ['reason'],
      registers,
    })
    this.lifecycle = new Counter({
      name: 'troupe_actor_lifecycle_total',
      help: 'Actor lifecycle transitions (started, restarted, stopped, failed), by actor type.',
      labelNames: ['actor_type', 'event'],
      registers,
    })
    this.supervision = new Counter({
      name: 'troupe_supervision_decisions_total',
      help: 'Supervisor decisions (child-restarted, escalated, gave-up, ...).',
      labelNames: ['event'],
      registers,
    })
    this.askBounds = [...(options.askBuckets ?? ASK_BUCKETS)].sort((a, b) => a - b)
    registerCellHistogram(
      this.registry,
      'troupe_ask_duration_seconds',
      'Asks sent from this system, from send to reply, failure or timeout, by outcome (ok | ERR_* code | error).',
      'outcome',
      this.askBounds,
      () => this.asks.entries(),
    )
    const timingRatio = options.handlerTimingRatio ?? 1 / 128
    if (!(timingRatio > 0 && timingRatio <= 1)) throw new RangeError(`handlerTimingRatio must be within (0, 1], got ${timingRatio}`)
    this.timingPeriod = Math.max(1, Math.round(1 / timingRatio))
    this.askTimeouts = new Counter({
      name: 'troupe_ask_timeouts_total',
      help: 'Asks sent from this system that got no reply within their timeout (ERR_ASK_TIMEOUT).',
      registers,
    })
    // Remoting counts on plain integers (hot path); these counters read them at scrape time.
    const remote = (name: string, help: string, outKey: 'framesOut' | 'bytesOut' | 'envelopesOut', inKey: 'framesIn' | 'bytesIn' | 'envelopesIn'): void => {
      const counter: Counter<'direction'> = new Counter({
        name,
        help,
        labelNames: ['direction'],
        registers,
        collect: () => {
          let out = 0
          let inbound = 0
          for (const stats of this.remotingSources) {
            out += stats[outKey]
            inbound += stats[inKey]
          }
          counter.reset()
          counter.inc({ direction: 'out' }, out)
          counter.inc({ direction: 'in' }, inbound)
        },
      })
    }
    remote('troupe_remote_frames_total', 'Frames sent/received by remoting (a frame carries a batch of envelopes).', 'framesOut', 'framesIn')
    remote('troupe_remote_bytes_total', 'Bytes sent/received by remoting.', 'bytesOut', 'bytesIn')
    remote('troupe_remote_messages_total', 'Envelopes sent/received by remoting.', 'envelopesOut', 'envelopesIn')
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry })
    this.edge = new EdgeMetrics(this.registry, () => this.snapshotShards())
  }

  /**
   * Per-shard figures of sharded systems, read at scrape time: ring occupancy (bytes in use of each
   * outbound ring), outbox backlog, parks and wakes, live actors, dead letters. Labels are shard
   * numbers (bounded by the thread count), summed over a shard's peers.
   */
  observeShards(sharded: { stats(): Promise<ShardedSystemStats> }): void {
    if (this.shardSources.length === 0) this.registerShardGauges()
    this.shardSources.push(() => sharded.stats())
  }

  private registerShardGauges(): void {
    type ShardFigures = ShardedSystemStats['shards'][number]
    // Each gauge reads the same snapshot: one stats() round trip per sharded system per scrape.
    const gauge = (name: string, help: string, read: (shard: ShardFigures) => number): void => {
      const metric: Gauge<'shard'> = new Gauge({
        name,
        help,
        labelNames: ['shard'],
        registers: [this.registry],
        collect: async () => {
          for (const stats of await this.snapshotShards()) {
            for (const shard of stats.shards) metric.set({ shard: String(shard.shard) }, read(shard))
          }
        },
      })
    }
    // Totals the shards count on plain integers, exported as counters (reset, then set from the snapshot).
    const counter = (name: string, help: string, read: (shard: ShardFigures) => number | { out: number; in: number }): void => {
      const byDirection = name === 'troupe_shard_frames_total'
      const metric: Counter<string> = new Counter({
        name,
        help,
        labelNames: byDirection ? ['shard', 'direction'] : ['shard'],
        registers: [this.registry],
        collect: async () => {
          const snapshots = await this.snapshotShards()
          metric.reset()
          for (const stats of snapshots) {
            for (const shard of stats.shards) {
              const value = read(shard)
              const label = String(shard.shard)
              if (typeof value === 'number') metric.inc({ shard: label }, value)
              else {
                metric.inc({ shard: label, direction: 'out' }, value.out)
                metric.inc({ shard: label, direction: 'in' }, value.in)
              }
            }
          }
        },
      })
    }
    const outbound = (shard: ShardFigures, pick: (used: number, capacity: number) => number): number => {
      let used = 0
      let capacity = 0
      for (const peer of shard.peers) {
        used += peer.outbound?.bytesUsed ?? 0
        capacity += peer.outbound?.capacity ?? 0
      }
      return pick(used, capacity)
    }
    gauge('troupe_shard_ring_bytes_used', "Bytes in use in the shard's outbound rings (occupancy), summed over its peers.", (s) => outbound(s, (used) => used))
    gauge('troupe_shard_ring_capacity_bytes', "Capacity of the shard's outbound rings, summed over its peers.", (s) => outbound(s, (_, capacity) => capacity))
    gauge('troupe_shard_outbox_bytes', "Bytes waiting in the shard's outboxes for a full ring.", (s) => s.transport.queuedBytes)
    counter('troupe_shard_frames_total', 'Frames (batches) the shard sent (out) and received (in) over its rings.', (s) => ({ out: s.transport.framesOut, in: s.transport.framesIn }))
    counter('troupe_shard_parks_total', "Times the shard's inbound pump parked on its doorbell.", (s) => s.transport.parks)
    counter('troupe_shard_wakes_total', "Wake-ups of the shard's inbound pump by a producer.", (s) => s.transport.wakes)
    counter('troupe_shard_idle_polls_total', "Idle polls of the shard's rings before parking (spinMs): the CPU price of low latency.", (s) => s.transport.polls)
    counter('troupe_shard_dead_letters_total', 'Dead letters counted in the shard.', (s) => s.deadLetters)
    gauge('troupe_shard_actors', 'Live actors in the shard.', (s) => s.actorCount)
  }

  private shardSnapshot: Promise<ShardedSystemStats[]> | null = null

  private snapshotShards(): Promise<ShardedSystemStats[]> {
    if (this.shardSnapshot === null) {
      const snapshot = Promise.all(this.shardSources.map((source) => source()))
      this.shardSnapshot = snapshot
      // Gauges collected together share it; the next scrape takes a fresh one.
      void snapshot.then(
        () => (this.shardSnapshot = null),
        () => (this.shardSnapshot = null),
      )
    }
    return this.shardSnapshot
  }

  /** Messages until the next timed one: uniform in [1, 2 × period − 1], mean `period`. */
  private nextGap(): number {
    const period = this.timingPeriod
    if (period === 1) return 1
    let x = this.gapState
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.gapState = x >>> 0
    return 1 + (this.gapState % (2 * period - 1))
  }

  /**
   * Handler outcomes and (sampled) timing, counted by the dispatcher on this object's per-type
   * records (Instrumentation.counting): nothing is called per message. Ask durations per settled
   * ask. Put it in ActorSystemOptions.instrumentation (combine with tracing).
   */
  readonly instrumentation: Instrumentation = {
    counting: {
      countsFor: (actorType: string): ActorTypeCounts => this.types.of(actorType),
      timed: (counts: ActorTypeCounts, ms: number): void => {
        this.types.observe(counts as TypeRecord, ms / 1000)
        counts.untilTimed = this.nextGap()
      },
    },
    onAskSettled: (_request: Envelope, error: Error | null, elapsedMs: number): void => {
      const outcome = error === null ? 'ok' : outcomeOf(error)
      let cells = this.asks.get(outcome)
      if (cells === undefined) {
        cells = new HistogramCells(this.askBounds.length)
        this.asks.set(outcome, cells)
      }
      const seconds = elapsedMs / 1000
      const i = bucketOf(this.askBounds, seconds)
      cells.buckets[i] = (cells.buckets[i] as number) + 1
      cells.sum += seconds
      cells.count++
      if (outcome === 'ERR_ASK_TIMEOUT') this.askTimeouts.inc()
    },
  }

  /** User messages queued per actor type in the observed systems, every counted type included (0). */
  private mailboxDepths(): Map<string, number> {
    const depths = new Map<string, number>()
    for (const [type] of this.types.entries()) depths.set(type, 0)
    const stack: ActorRef<any>[] = []
    for (const system of this.systems) stack.push(...system.topLevel)
    for (let ref = stack.pop(); ref !== undefined; ref = stack.pop()) {
      const cell = ref.cell as MailboxView | null
      if (cell === null || !cell.isAlive) continue
      const queued = cell.mailboxSize
      if (queued > 0 || !depths.has(cell.actorType)) depths.set(cell.actorType, (depths.get(cell.actorType) ?? 0) + queued)
      for (const child of cell.children) stack.push(child)
    }
    return depths
  }

  /**
   * Nothing left to hook: mailbox depth is read from the mailboxes at scrape time. Kept so systems
   * set up with `mailboxHooks: metrics.mailboxHooks` stay valid; it costs nothing per message.
   */
  readonly mailboxHooks: MailboxHooks = {}

  /** Counts dead letters, lifecycle transitions and supervision decisions of `system`. */
  observe(system: ActorSystem): void {
    this.systems.push(system)
    this.subscriptions.push(
      system.subscribe(DeadLetterTopic, (letter) => this.deadLetters.inc({ reason: letter.reason })),
      system.subscribe(LifecycleTopic, (event) => this.lifecycle.inc({ actor_type: event.actorType, event: event.event })),
      system.subscribe(SupervisorEventTopic, (event) => this.supervision.inc({ event: event.type })),
    )
  }

  /** Reports a Remoting's counters (read at scrape time). */
  observeRemoting(stats: RemotingStats): void {
    this.remotingSources.push(stats)
    this.edge.observeRemoting(stats)
  }

  /** Reports a gateway's calls by public name, method and outcome, and its refused tells (read at scrape time). */
  observeGateway(stats: GatewayStats): void {
    this.edge.observeGateway(stats)
  }

  /** Reports frames or heartbeats dropped for a missing or wrong cluster signature (read at scrape time). */
  observeUnauthenticated(source: UnauthenticatedSource): void {
    this.edge.observeUnauthenticated(source)
  }

  /** Reports frames refused below Remoting (the NATS link's header check) under one `reason` (read at scrape time). */
  observeMalformed(source: { readonly reason: string; read(): number }): void {
    this.edge.observeMalformed(source)
  }

  close(): void {
    this.systems.length = 0
    for (const subscription of this.subscriptions.splice(0)) subscription.unsubscribe()
  }
}
