/**
 * One trace from an external client to the actor over real NATS: the client injects its active
 * context, the gateway's CONSUMER span continues it, the gateway's ask (PRODUCER) is its child,
 * and the actor's `process` span is the ask's child.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { context, propagation, SpanKind, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { TroupeClient } from '../../../client/index.ts'
import { createTracing, Gateway } from '../../../cluster/index.ts'
import { Actor, ActorSystem } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { uniqueCluster } from '../../support/services.ts'

interface GreeterProtocol {
  greet(name: string): string
}
class Greeter extends Actor<GreeterProtocol> implements GreeterProtocol {
  greet(name: string) {
    if (name === '') throw new Error('nobody to greet')
    return `hello ${name}`
  }
}

const exporter = new InMemorySpanExporter()
const cluster = uniqueCluster('traced')
let system: ActorSystem
let connection: NatsConnection
let gateway: Gateway
let client: TroupeClient

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
  system = ActorSystem.create({ name: cluster, instrumentation: createTracing() })
  connection = await connect({ servers: inject('natsUrl') })
  gateway = await Gateway.start({ connection, system, cluster })
  await gateway.publish('greeter', system.spawn(Greeter, { name: 'greeter' }), { methods: ['greet'] })
  client = await TroupeClient.connect({ servers: inject('natsUrl'), cluster })
})

afterAll(async () => {
  await client?.close()
  await gateway?.close()
  await connection?.drain()
  await system?.terminate()
  trace.disable()
  propagation.disable()
  context.disable()
})

describe('tracing an external call', () => {
  it('client span -> gateway process span -> ask -> actor process span, one trace', async () => {
    exporter.reset()
    await trace.getTracer('test').startActiveSpan('client request', async (root) => {
      expect(await client.actor<GreeterProtocol>('greeter').ask('greet', 'ada')).toBe('hello ada')
      root.end()
    })
    await waitFor(() => exporter.getFinishedSpans().length >= 4)
    const spans = exporter.getFinishedSpans()
    const named = (name: string) => spans.find((s) => s.name === name)
    const root = named('client request')
    const atGateway = named(`process troupe.${cluster}.call.greeter`)
    const ask = named('ask Greeter')
    const processed = named('process Greeter')
    expect(new Set([root, atGateway, ask, processed].map((s) => s?.spanContext().traceId)).size).toBe(1)
    expect(atGateway?.kind).toBe(SpanKind.CONSUMER)
    expect(atGateway?.attributes).toMatchObject({ 'messaging.system': 'nats', 'troupe.public_name': 'greeter', 'troupe.method': 'greet' })
    expect(atGateway?.parentSpanContext?.spanId).toBe(root?.spanContext().spanId)
    expect(ask?.parentSpanContext?.spanId).toBe(atGateway?.spanContext().spanId)
    expect(processed?.parentSpanContext?.spanId).toBe(ask?.spanContext().spanId)
  })

  it('a failed call marks the gateway span and the ask span with error.type', async () => {
    exporter.reset()
    await expect(client.actor<GreeterProtocol>('greeter').ask('greet', '')).rejects.toThrow('nobody to greet')
    await waitFor(() => exporter.getFinishedSpans().some((s) => s.name.startsWith('process troupe.')))
    const atGateway = exporter.getFinishedSpans().find((s) => s.name.startsWith('process troupe.'))
    expect(atGateway?.status.code).toBe(2)
    expect(atGateway?.attributes['error.type']).toBe('Error')
  })
})
