/**
 * The caller's side of an ask: a PRODUCER span that ends at the reply or timeout (with error.type),
 * an ask-duration histogram and a timeout counter; and the context an external caller sends in the
 * envelope headers is continued.
 */
import { SpanKind } from '@opentelemetry/api'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, ActorSystem, combineInstrumentation, type ActorRef } from '../../../../runtime/index.ts'
import { createTracing, TroupeMetrics } from '../../../../cluster/observability/index.ts'
import { waitFor } from '../../../../testing/index.ts'
import { useGlobalOtelSdk } from '../../../support/otelSdk.ts'

interface EchoProtocol {
  echo(text: string): string
  slow(): Promise<void>
}
/** Releases the pending `slow` handlers (before their systems terminate). */
const pending: (() => void)[] = []
class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  echo(text: string) {
    return text
  }
  slow() {
    return new Promise<void>((resolve) => pending.push(resolve))
  }
}

const exporter = useGlobalOtelSdk()
const systems: ActorSystem[] = []
afterEach(async () => {
  for (const release of pending.splice(0)) release()
  await Promise.all(systems.splice(0).map((system) => system.terminate()))
})
function observedSystem(name: string): { system: ActorSystem; registry: Registry } {
  const registry = new Registry()
  const metrics = new TroupeMetrics({ registry })
  const system = ActorSystem.create({ name, instrumentation: combineInstrumentation([createTracing(), metrics.instrumentation]), mailboxHooks: metrics.mailboxHooks })
  metrics.observe(system)
  systems.push(system)
  return { system, registry }
}

describe('ask observability', () => {
  it('an ask is a PRODUCER span from send to reply, parent of the CONSUMER span that handled it', async () => {
    const { system } = observedSystem('ask-ok')
    const echo = system.spawn(Echo, { name: 'echo' })
    expect(await echo.ask('echo', 'hi')).toBe('hi')
    await waitFor(() => exporter.getFinishedSpans().length === 2)
    const [ask, processed] = [exporter.getFinishedSpans().find((s) => s.name === 'ask Echo'), exporter.getFinishedSpans().find((s) => s.name === 'process Echo')]
    expect(ask?.kind).toBe(SpanKind.PRODUCER)
    expect(ask?.attributes).toMatchObject({
      'messaging.system': 'troupe',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'ask',
      'messaging.destination.name': 'Echo',
      'troupe.method': 'echo',
    })
    expect(ask?.status.code).toBe(0)
    expect(processed?.parentSpanContext?.spanId).toBe(ask?.spanContext().spanId)
  })

  it('a timed-out ask ends its span with error.type ERR_ASK_TIMEOUT, and is timed and counted', async () => {
    const { system, registry } = observedSystem('ask-timeout')
    const echo = system.spawn(Echo, { name: 'echo' })
    await echo.ask('echo', 'warm')
    await expect(echo.askWith({ timeoutMs: 50 }, 'slow')).rejects.toMatchObject({ code: 'ERR_ASK_TIMEOUT' })
    const span = exporter.getFinishedSpans().find((s) => s.name === 'ask Echo' && s.attributes['troupe.method'] === 'slow')
    expect(span?.status.code).toBe(2)
    expect(span?.attributes['error.type']).toBe('ERR_ASK_TIMEOUT')
    const durationMs = (span!.duration[0] * 1e9 + span!.duration[1]) / 1e6
    expect(durationMs).toBeGreaterThanOrEqual(45)
    const text = await registry.metrics()
    expect(text).toContain('troupe_ask_timeouts_total 1')
    expect(text).toMatch(/^troupe_ask_duration_seconds_count\{outcome="ok"\} 1$/m)
    expect(text).toMatch(/^troupe_ask_duration_seconds_count\{outcome="ERR_ASK_TIMEOUT"\} 1$/m)
    // The timeout's sample is at least its 50 ms: it lands in the 0.05 s bucket or above only.
    expect(text).toMatch(/^troupe_ask_duration_seconds_bucket\{le="0.01",outcome="ERR_ASK_TIMEOUT"\} 0$/m)
  })

  it("continues a caller's trace carried in the envelope headers (a gateway forwarding traceparent)", async () => {
    const { system } = observedSystem('ask-external')
    const echo = system.spawn(Echo, { name: 'echo' })
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const callerSpan = '00f067aa0ba902b7'
    await echo.askWith({ headers: { traceparent: `00-${traceId}-${callerSpan}-01` } }, 'echo', 'from outside')
    await waitFor(() => exporter.getFinishedSpans().length === 2)
    const ask = exporter.getFinishedSpans().find((s) => s.name === 'ask Echo')
    expect(ask?.spanContext().traceId).toBe(traceId)
    expect(ask?.parentSpanContext?.spanId).toBe(callerSpan)
    const processed = exporter.getFinishedSpans().find((s) => s.name === 'process Echo')
    expect(processed?.spanContext().traceId).toBe(traceId)
  })

  it('a tell from plain code with no SDK context still starts a trace, one PRODUCER span per tell', async () => {
    const { system } = observedSystem('tell-root')
    const echo = system.spawn(Echo, { name: 'echo' })
    echo.tell('echo', 'x')
    await waitFor(() => exporter.getFinishedSpans().length === 2)
    const tell = exporter.getFinishedSpans().find((s) => s.name === 'tell Echo')
    expect(tell?.kind).toBe(SpanKind.PRODUCER)
    expect(tell?.parentSpanContext).toBeUndefined()
  })

  it("Troupe's head sampling: 1 root in round(1/ratio) starts a trace, and an unsampled message's handler sends unsampled", async () => {
    interface RelayProtocol {
      relay(to: ActorRef<EchoProtocol>): void
    }
    class Relay extends Actor<RelayProtocol> implements RelayProtocol {
      relay(to: ActorRef<EchoProtocol>) {
        to.tell('echo', 'relayed')
      }
    }
    const system = ActorSystem.create({ name: 'sampled', instrumentation: createTracing({ sampleRatio: 0.25 }) })
    systems.push(system)
    const echo = system.spawn(Echo, { name: 'echo' })
    const relay = system.spawn(Relay, { name: 'relay' })
    for (let i = 0; i < 8; i++) relay.tell('relay', echo)
    // Roots 0 and 4 are sampled: each a whole trace of tell Relay -> process Relay -> tell Echo -> process Echo.
    await waitFor(() => exporter.getFinishedSpans().filter((s) => s.name === 'process Echo').length === 2)
    await echo.ask('echo', 'flush')
    const spans = exporter.getFinishedSpans()
    expect(spans.filter((s) => s.name === 'tell Relay')).toHaveLength(2)
    expect(spans.filter((s) => s.name === 'process Relay')).toHaveLength(2)
    expect(spans.filter((s) => s.name === 'tell Echo')).toHaveLength(2)
    // The 6 unsampled relays' own tells stayed unsampled: otherwise Troupe's sampler would have picked some as roots.
    const tellEcho = new Set(spans.filter((s) => s.name === 'tell Echo').map((s) => s.spanContext().spanId))
    expect(spans.filter((s) => s.name === 'process Echo' && tellEcho.has(s.parentSpanContext?.spanId ?? ''))).toHaveLength(2)
    expect(() => createTracing({ sampleRatio: 2 })).toThrow(RangeError)
  })
})
