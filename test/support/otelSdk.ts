/**
 * The OpenTelemetry SDK installed globally for one test file, as an app would (async-hooks context
 * manager, W3C propagator, a tracer provider): finished spans collect in the returned exporter,
 * cleared after each test; the globals are removed after the file.
 */
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, afterEach, beforeAll } from 'vitest'

export function useGlobalOtelSdk(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter()
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
    propagation.setGlobalPropagator(new W3CTraceContextPropagator())
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }))
  })
  afterEach(() => exporter.reset())
  afterAll(() => {
    trace.disable()
    propagation.disable()
    context.disable()
  })
  return exporter
}
