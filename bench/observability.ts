/**
 * The cost of full instrumentation (issue #17): the same tell and ask workloads on a system with
 * TroupeMetrics (counters, processing and ask histograms, mailbox gauges) and tracing (Troupe's head
 * sampling at 1 %, an SDK recording what it picks) against the
 * same system with no instrumentation, in the same run. Target: instrumented tell ≥ 0.9 × plain.
 * `tell-hooks` samples nothing (Troupe's own per-message cost, no SDK spans); `shards` is the tell
 * workload of sharded systems with and without the node's shard observer (observabilityShards.ts).
 */
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { ExportResultCode, type ExportResult } from '@opentelemetry/core'
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { Registry } from 'prom-client'
import { createTracing, TroupeMetrics } from '../cluster/observability/index.ts'
import { Actor, ActorSystem, combineInstrumentation, type ActorSystemOptions } from '../runtime/index.ts'
import { shardsCase } from './observabilityShards.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, yieldMacrotask, type Paired, type Rate, type Suite } from './harness.ts'

const TELL_N = 1_000_000
const ASK_N = 100_000
const YIELD_MASK = 1023
const LONG_ASK = { timeoutMs: 600_000 }
/** Troupe's head sampling; the SDK records what it picks (ParentBased over AlwaysOn). */
const SAMPLE_RATIO = 0.01

interface SinkProtocol {
  inc(by: number): void
  count(): number
}
class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  private n = 0
  inc(by: number) {
    this.n += by
  }
  count() {
    return this.n
  }
}

/**
 * Counts the spans and lets them go, as an exporter shipping them elsewhere would. (The SDK's
 * InMemorySpanExporter keeps every span until reset: tens of MB of live heap per run, whose GC
 * cost is the test exporter's, not the instrumentation's.)
 */
class CountingExporter implements SpanExporter {
  count = 0
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.count += spans.length
    done({ code: ExportResultCode.SUCCESS })
  }
  shutdown(): Promise<void> {
    return Promise.resolve()
  }
  reset(): void {
    this.count = 0
  }
}
const exporter = new CountingExporter()
let processor: BatchSpanProcessor | null = null

function installSdk(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      // A queue that never drops at this rate (a dropped span would flatter the figure), exported often.
      spanProcessors: [(processor = new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 512, scheduledDelayMillis: 100 }))],
    }),
  )
}

/** plain: no instrumentation; full: metrics + tracing at SAMPLE_RATIO; hooks: metrics + tracing sampling nothing (Troupe's own per-message cost, no SDK spans). */
type Mode = 'plain' | 'full' | 'hooks'

function system(mode: Mode): ActorSystem {
  if (mode === 'plain') return ActorSystem.create({ name: 'plain' })
  const metrics = new TroupeMetrics({ registry: new Registry() })
  const options: ActorSystemOptions = {
    name: 'instrumented',
    instrumentation: combineInstrumentation([createTracing({ sampleRatio: mode === 'full' ? SAMPLE_RATIO : 0 }), metrics.instrumentation]),
    mailboxHooks: metrics.mailboxHooks,
  }
  const created = ActorSystem.create(options)
  metrics.observe(created)
  return created
}

async function tell(mode: Mode, n: number): Promise<Rate> {
  const sys = system(mode)
  const sink = sys.spawn(Sink)
  const stop = startTiming()
  for (let i = 0; i < n; i++) {
    sink.tell('inc', 1)
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldMacrotask()
  }
  const total = await sink.askWith(LONG_ASK, 'count')
  const timing = stop()
  check(total === n, `sink counted ${total} of ${n}`)
  await sys.terminate()
  await checkSpans(mode, n)
  return rate(n, timing)
}

/** Every sampled message made its two spans (send and process), and no more were made. */
async function checkSpans(mode: Mode, messages: number): Promise<void> {
  await processor?.forceFlush()
  const expected = mode === 'full' ? 2 * Math.ceil(messages * SAMPLE_RATIO) : 0
  check(Math.abs(exporter.count - expected) <= 2, `${mode}: ${exporter.count} spans exported, expected about ${expected}`)
  exporter.reset()
}

async function ask(mode: Mode, n: number): Promise<Rate> {
  const sys = system(mode)
  const sink = sys.spawn(Sink)
  const stop = startTiming()
  for (let i = 0; i < n; i++) await sink.ask('count')
  const timing = stop()
  await sys.terminate()
  await checkSpans(mode, n)
  return rate(n, timing)
}

function line(name: string, unit: string, runs: Paired<Rate>, extra: Record<string, unknown>): void {
  const wall = runs.candidate.map((r) => r.perSecond)
  const baseWall = runs.baseline.map((r) => r.perSecond)
  report({
    case: name,
    value: round(median(wall)),
    unit,
    baseline: round(median(baseWall)),
    ratio: round(pairedRatio(wall, baseWall), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
    ...extra,
    rounds: wall.map((v) => round(v, 3)),
    baselineRounds: baseWall.map((v) => round(v, 3)),
  })
}

export const suite: Suite = {
  description: 'tell and ask with full instrumentation (metrics + tracing sampled at 1 %) against the same system without',
  cases: ['tell', 'tell-hooks', 'ask', 'shards'],
  async run({ only }) {
    installSdk()
    try {
      await cases(only)
    } finally {
      // Suites share the process: a context manager left enabled would slow every promise in the
      // suites that run after this one (the breaker's baseline await went from 45 to 180 ns).
      await processor?.shutdown()
      trace.disable()
      propagation.disable()
      context.disable()
    }
  },
}

async function cases(only: ReadonlySet<string> | null): Promise<void> {
  const want = (name: string) => only === null || only.has(name)
  note('observability: warming up')
  for (let i = 0; i < 2; i++) {
    for (const mode of ['full', 'hooks', 'plain'] as const) {
      await tell(mode, 200_000)
      await ask(mode, 20_000)
    }
  }
  if (want('tell')) {
    note(`observability.tell: ${TELL_N} tells, fully instrumented (1 % traced) vs plain`)
    line('observability.tell', 'msgs/s', await paired(7, () => tell('full', TELL_N), () => tell('plain', TELL_N)), { n: TELL_N, sampling: SAMPLE_RATIO, targetRatio: 0.9 })
  }
  if (want('tell-hooks')) {
    note(`observability.tell-hooks: ${TELL_N} tells, metrics + tracing hooks sampling none vs plain`)
    line('observability.tell-hooks', 'msgs/s', await paired(7, () => tell('hooks', TELL_N), () => tell('plain', TELL_N)), { n: TELL_N, sampling: 0 })
  }
  if (want('ask')) {
    note(`observability.ask: ${ASK_N} asks from plain code, fully instrumented (1 % traced) vs plain`)
    line('observability.ask', 'round trips/s', await paired(5, () => ask('full', ASK_N), () => ask('plain', ASK_N)), { n: ASK_N, sampling: SAMPLE_RATIO })
  }
  if (want('shards')) await shardsCase()
}
