import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, combineInstrumentation, type ActorRef } from '../../../runtime/index.ts'
import { createTracing, TroupeMetrics } from '../../../cluster/observability/index.ts'
import { Remoting } from '../../../transport/index.ts'
import { LoopbackNetwork, waitFor, waitForValue } from '../../../testing/index.ts'

interface HopProtocol {
  hop(rest: ActorRef<HopProtocol>[]): Promise<void>
  boom(): void
}
class Hop extends Actor<HopProtocol> implements HopProtocol {
  async hop(rest: ActorRef<HopProtocol>[]) {
    await Promise.resolve()
    const [next, ...others] = rest
    next?.tell('hop', others)
  }
  boom(): void {
    throw new Error('boom')
  }
}

const exporter = new InMemorySpanExporter()
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  trace.setGlobalTracerProvider(provider)
})
afterAll(() => {
  trace.disable()
  propagation.disable()
  context.disable()
})

describe('observability', () => {
  it('continues one trace across actors: request -> tell (PRODUCER) -> process (CONSUMER) -> tell -> ...', async () => {
    exporter.reset()
    const system = ActorSystem.create({ name: 'traced', instrumentation: createTracing() })
    const [a, b, c] = ['a', 'b', 'c'].map((name) => system.spawn(Hop, { name })) as [ActorRef<HopProtocol>, ActorRef<HopProtocol>, ActorRef<HopProtocol>]
    const tracer = trace.getTracer('test')
    await tracer.startActiveSpan('request', async (root) => {
      a.tell('hop', [b, c])
      root.end()
    })
    await waitFor(() => exporter.getFinishedSpans().length === 7)
    const spans = exporter.getFinishedSpans()
    const byName = (name: string) => spans.filter((s) => s.name === name)
    const process = byName('process Hop')
    const tells = byName('tell Hop')
    expect(process).toHaveLength(3)
    expect(tells).toHaveLength(3)
    const root = byName('request')[0]!
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]))
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]))
    // Walk back from the last hop: process <- tell <- process <- tell <- process <- tell <- request.
    const last = process.find((p) => !tells.some((t) => t.parentSpanContext?.spanId === p.spanContext().spanId))!
    const chain: string[] = []
    for (let span: (typeof spans)[number] | undefined = last; span !== undefined; span = byId.get(span.parentSpanContext?.spanId ?? '')) chain.push(span.name)
    expect(chain).toEqual(['process Hop', 'tell Hop', 'process Hop', 'tell Hop', 'process Hop', 'tell Hop', 'request'])
    for (const span of process) expect(span.links[0]?.context.spanId).toBe(span.parentSpanContext?.spanId)
    expect(tells.every((t) => t.kind === SpanKind.PRODUCER && t.attributes['messaging.operation.type'] === 'send')).toBe(true)
    expect(process[0]!.kind).toBe(SpanKind.CONSUMER)
    expect(process[0]!.attributes['messaging.system']).toBe('troupe')
    expect(process[0]!.attributes['messaging.destination.name']).toBe('Hop')
    await system.terminate()
  })

  it('continues the trace across nodes: the context travels in the envelope headers through the codec', async () => {
    exporter.reset()
    const network = new LoopbackNetwork()
    const systems = ['a', 'b'].map((node) => {
      const system = ActorSystem.create({ name: 'traced-cluster', node, instrumentation: createTracing() })
      new Remoting(system, network.attach({ system: 'traced-cluster', node, shard: 0 }))
      return system
    }) as [ActorSystem, ActorSystem]
    const [onA, onB] = systems
    const first = onA.spawn(Hop, { name: 'first' })
    const second = onB.spawn(Hop, { name: 'second' })
    await trace.getTracer('test').startActiveSpan('request', async (root) => {
      first.tell('hop', [onA.refFor<HopProtocol>(second.address)])
      root.end()
    })
    // request, tell first, process on A, tell to B (a remote ref: its destination is a path template), process on B.
    await waitFor(() => exporter.getFinishedSpans().length === 5)
    const spans = exporter.getFinishedSpans()
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1)
    const remoteTell = spans.find((s) => s.name === 'tell /user/*')
    expect(remoteTell?.attributes['messaging.destination.name']).toBe('/user/*')
    const hops = spans.filter((s) => s.name === 'process Hop')
    const onNodeA = hops.find((s) => s.parentSpanContext?.spanId !== remoteTell?.spanContext().spanId)
    const onNodeB = hops.find((s) => s.parentSpanContext?.spanId === remoteTell?.spanContext().spanId)
    expect(onNodeB).toBeDefined()
    expect(remoteTell?.parentSpanContext?.spanId).toBe(onNodeA?.spanContext().spanId)
    await Promise.all(systems.map((s) => s.terminate()))
  })

  it('records a failing handler as an error span', async () => {
    exporter.reset()
    const system = ActorSystem.create({ name: 'traced2', instrumentation: createTracing() })
    const a = system.spawn(Hop, { name: 'a' })
    await expect(a.ask('boom')).rejects.toThrow('boom')
    const span = exporter.getFinishedSpans().find((s) => s.name === 'process Hop' && s.attributes['troupe.method'] === 'boom')
    expect(span?.status.code).toBe(2)
    expect(span?.attributes['error.type']).toBe('Error')
    await system.terminate()
  })

  it('exports troupe_* metrics on the caller registry, labelled by actor type', async () => {
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry })
    const system = ActorSystem.create({
      name: 'metered',
      instrumentation: combineInstrumentation([metrics.instrumentation]),
      mailboxHooks: metrics.mailboxHooks,
    })
    metrics.observe(system)
    const a = system.spawn(Hop, { name: 'a' })
    await a.ask('hop', [])
    await expect(a.ask('boom')).rejects.toThrow()
    // The restart follows the failed reply; wait for it to be counted.
    const text = await waitForValue(() => registry.metrics(), (t) => t.includes('event="restarted"'))
    expect(text).toContain('troupe_messages_processed_total{actor_type="Hop",outcome="ok"} 1')
    expect(text).toContain('troupe_messages_processed_total{actor_type="Hop",outcome="error"} 1')
    expect(text).toContain('troupe_dead_letters_total{reason="failed"} 1')
    expect(text).toContain('troupe_actor_lifecycle_total{actor_type="Hop",event="restarted"} 1')
    expect(text).toMatch(/troupe_message_processing_seconds_count\{actor_type="Hop"\} 2/)
    expect(text).toContain('troupe_mailbox_messages{actor_type="Hop"} 0')
    expect(text).not.toMatch(/\/user\/a/)
    metrics.close()
    await system.terminate()
  })

  it('counts refused input: malformed frames by reason, unauthenticated frames and heartbeats, gateway calls and refused tells', async () => {
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry })
    const system = ActorSystem.create({ name: 'edge', node: 'a' })
    const network = new LoopbackNetwork()
    const remoting = new Remoting(system, network.attach({ system: 'edge', node: 'a', shard: 0 }))
    metrics.observeRemoting(remoting.stats)
    let forged = 3
    metrics.observeUnauthenticated({ kind: 'frames', read: () => forged })
    metrics.observeUnauthenticated({ kind: 'heartbeats', read: () => 1 })
    metrics.observeGateway({
      requests: 3, ok: 1, errors: { ERR_UNKNOWN_METHOD: 2 }, noReply: 1, refusedWithoutReply: 1,
      refusedTells: { ERR_UNKNOWN_METHOD: 1 },
      calls: { bank: { deposit: { ok: 1 }, '<unknown>': { ERR_UNKNOWN_METHOD: 2 } } },
    })
    remoting.receive(Uint8Array.of(0xc1, 3, 0, 0, 0xff, 0xff, 0xff, 0xff))
    remoting.receive(Uint8Array.of(0xc1, 9, 0, 0, 0, 0, 0, 0))
    remoting.receive(Uint8Array.of(0xc1, 9, 0, 0, 0, 0, 0, 0))
    let text = await registry.metrics()
    expect(text).toMatch(/^troupe_malformed_frames_total\{reason="[a-z-]+"\} 1$/m)
    expect(text).toMatch(/^troupe_malformed_frames_total\{reason="version"\} 2$/m)
    expect(text).toContain('troupe_unauthenticated_frames_total{kind="frames"} 3')
    expect(text).toContain('troupe_unauthenticated_frames_total{kind="heartbeats"} 1')
    expect(text).toContain('troupe_gateway_calls_total{public_name="bank",method="deposit",outcome="ok"} 1')
    expect(text).toContain('troupe_gateway_calls_total{public_name="bank",method="<unknown>",outcome="ERR_UNKNOWN_METHOD"} 2')
    expect(text).toContain('troupe_gateway_refused_tells_total{code="ERR_UNKNOWN_METHOD"} 1')
    // Read at scrape time: the counters follow their sources without double counting.
    forged = 5
    text = await registry.metrics()
    expect(text).toContain('troupe_unauthenticated_frames_total{kind="frames"} 5')
    expect(text).toMatch(/^troupe_malformed_frames_total\{reason="version"\} 2$/m)
    metrics.close()
    await system.terminate()
  })
})
