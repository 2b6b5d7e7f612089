/**
 * The cost of full instrumentation (issue #17): the same tell and ask workloads on a system with
 * TroupeMetrics (counters, processing and ask histograms, mailbox gauges) and tracing (Troupe's head
 * sampling at 1 %, an SDK recording what it picks) against the
 * same system with no instrumentation, in the same run. Target: instrumented tell ≥ 0.9 × plain.
 */
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, ParentBasedSampler } from '@opentelemetry/sdk-trace-base'
import { Registry } from 'prom-client'
import { createTracing, TroupeMetrics } from '../cluster/observability/index.ts'
import { Actor, ActorSystem, combineInstrumentation, type ActorSystemOptions } from '../runtime/index.ts'
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

const exporter = new InMemorySpanExporter()

function installSdk(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({
      sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
      spanProcessors: [new BatchSpanProcessor(exporter, { maxQueueSize: 100_000, maxExportBatchSize: 10_000 })],
    }),
  )
}

function system(instrumented: boolean): ActorSystem {
  if (!instrumented) return ActorSystem.create({ name: 'plain' })
  const metrics = new TroupeMetrics({ registry: new Registry() })
  const options: ActorSystemOptions = {
    name: 'instrumented',
    instrumentation: combineInstrumentation([createTracing({ sampleRatio: SAMPLE_RATIO }), metrics.instrumentation]),
    mailboxHooks: metrics.mailboxHooks,
  }
  const created = ActorSystem.create(options)
  metrics.observe(created)
  return created
}

async function tell(instrumented: boolean, n: number): Promise<Rate> {
  const sys = system(instrumented)
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
  exporter.reset()
  return rate(n, timing)
}

async function ask(instrumented: boolean, n: number): Promise<Rate> {
  const sys = system(instrumented)
  const sink = sys.spawn(Sink)
  const stop = startTiming()
  for (let i = 0; i < n; i++) await sink.ask('count')
  const timing = stop()
  await sys.terminate()
  exporter.reset()
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
  cases: ['tell', 'ask'],
  async run({ only }) {
    installSdk()
    const want = (name: string) => only === null || only.has(name)
    note('observability: warming up')
    for (let i = 0; i < 2; i++) {
      await tell(true, 200_000)
      await tell(false, 200_000)
      await ask(true, 20_000)
      await ask(false, 20_000)
    }
    if (want('tell')) {
      note(`observability.tell: ${TELL_N} tells, instrumented vs plain`)
      line('observability.tell', 'msgs/s', await paired(7, () => tell(true, TELL_N), () => tell(false, TELL_N)), { n: TELL_N, sampling: 0.01, targetRatio: 0.9 })
    }
    if (want('ask')) {
      note(`observability.ask: ${ASK_N} asks from plain code, instrumented vs plain`)
      line('observability.ask', 'round trips/s', await paired(5, () => ask(true, ASK_N), () => ask(false, ASK_N)), { n: ASK_N, sampling: 0.01 })
    }
  },
}
