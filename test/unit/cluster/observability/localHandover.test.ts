/**
 * A traced message handled in the process that sent it: its consumer span's parent is handed over
 * in-process (no traceparent parsed back), the headers the handler sees still carry traceparent
 * for the hops that leave the process, and the handler's context behaves as any OTel Context.
 */
import { context, createContextKey, trace } from '@opentelemetry/api'
import { afterEach, describe, expect, it } from 'vitest'
import { createTracing } from '../../../../cluster/observability/index.ts'
import { Actor, ActorSystem, combineInstrumentation, type Instrumentation } from '../../../../runtime/index.ts'
import { useGlobalOtelSdk } from '../../../support/otelSdk.ts'

const KEY = createContextKey('test key')

interface ProbeProtocol {
  probe(): { keys: string[]; json: string; traceparent: string | undefined; spanId: string | undefined; set: unknown; deleted: unknown; sameSpan: boolean }
}
class Probe extends Actor<ProbeProtocol> implements ProbeProtocol {
  probe() {
    const headers = this.context.headers ?? {}
    const active = context.active()
    const set = active.setValue(KEY, 42)
    return {
      keys: Object.keys(headers),
      json: JSON.stringify(headers),
      traceparent: headers['traceparent'],
      spanId: trace.getSpanContext(active)?.spanId,
      set: set.getValue(KEY),
      deleted: set.deleteValue(KEY).getValue(KEY),
      sameSpan: trace.getSpan(set) === trace.getSpan(active),
    }
  }
}

const exporter = useGlobalOtelSdk()
const systems: ActorSystem[] = []
afterEach(async () => {
  await Promise.all(systems.splice(0).map((system) => system.terminate()))
})
describe('tracing within one process', () => {
  it('parents the consumer span on the producer span without a string round trip, and keeps traceparent in the headers', async () => {
    const system = ActorSystem.create({ name: 'handover', instrumentation: createTracing() })
    systems.push(system)
    const probe = system.spawn(Probe)
    const seen = await probe.ask('probe')
    const spans = exporter.getFinishedSpans()
    const ask = spans.find((s) => s.name === 'ask Probe')
    const processed = spans.find((s) => s.name === 'process Probe')
    expect(processed?.parentSpanContext?.spanId).toBe(ask?.spanContext().spanId)
    expect(processed?.links[0]?.context.spanId).toBe(ask?.spanContext().spanId)
    // What leaves the process is the W3C header, and only it: the handed-over context is not a key.
    expect(seen.keys).toEqual(['traceparent'])
    expect(seen.json).toBe(JSON.stringify({ traceparent: seen.traceparent }))
    expect(seen.traceparent).toBe(`00-${ask?.spanContext().traceId}-${ask?.spanContext().spanId}-01`)
    expect(seen.spanId).toBe(processed?.spanContext().spanId)
    expect(seen.set).toBe(42)
    expect(seen.deleted).toBeUndefined()
    expect(seen.sameSpan).toBe(true)
  })

  it('extracts the parent from the headers when a copy replaced the traceparent the sender injected', async () => {
    // What a forwarder does that rewrites the trace context on a copy of the headers (it keeps every other key).
    const upstream = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) }
    const rewrite: Instrumentation = {
      onSend(envelope) {
        if (envelope.headers !== null) envelope.headers = { ...envelope.headers, traceparent: `00-${upstream.traceId}-${upstream.spanId}-01` }
      },
    }
    const system = ActorSystem.create({ name: 'handover-rewrite', instrumentation: combineInstrumentation([createTracing(), rewrite]) })
    systems.push(system)
    const probe = system.spawn(Probe)
    const seen = await probe.ask('probe')
    const processed = exporter.getFinishedSpans().find((s) => s.name === 'process Probe')
    expect(seen.traceparent).toBe(`00-${upstream.traceId}-${upstream.spanId}-01`)
    expect(processed?.spanContext().traceId).toBe(upstream.traceId)
    expect(processed?.parentSpanContext?.spanId).toBe(upstream.spanId)
  })
})
