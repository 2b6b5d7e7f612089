import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Link, type Tracer } from '@opentelemetry/api'
import type { ActorInfo, Envelope, Instrumentation } from '../../runtime/index.ts'

export interface TracingOptions {
  /** Tracer to use; default `trace.getTracer('troupe')` from the global provider. */
  readonly tracer?: Tracer
}

/**
 * OpenTelemetry through `@opentelemetry/api` only. Producers attach their creation context to the
 * envelope headers (W3C `traceparent`/`tracestate`, via the global propagator); every message
 * handled gets a CONSUMER `process` span that continues the producer's trace and links to its
 * context, as the messaging semantic conventions describe. The handler runs inside that span's
 * context, so messages it sends carry it onwards: across actors, shards and nodes alike.
 */
export function createTracing(options: TracingOptions = {}): Instrumentation {
  const tracer = options.tracer ?? trace.getTracer('troupe')
  return {
    onSend(envelope: Envelope): void {
      const active = context.active()
      if (trace.getSpanContext(active) === undefined) return
      const carrier: Record<string, string> = envelope.headers === null ? {} : { ...envelope.headers }
      propagation.inject(active, carrier)
      envelope.headers = carrier
    },
    aroundHandle(envelope: Envelope, actor: ActorInfo, invoke: () => unknown): unknown {
      const parent = envelope.headers === null ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, envelope.headers)
      const creation = trace.getSpanContext(parent)
      const links: Link[] = creation === undefined ? [] : [{ context: creation }]
      const span = tracer.startSpan(`process ${actor.actorType}.${envelope.method}`, { kind: SpanKind.CONSUMER, links }, parent)
      if (!span.isRecording()) {
        // No SDK, or sampled out: skip the attributes and the per-message closures. A context from
        // upstream still has to flow to the messages this handler sends.
        if (creation === undefined) return invoke()
        return context.with(trace.setSpan(parent, span), invoke)
      }
      span.setAttributes({
        'messaging.system': 'troupe',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': actor.path,
        'messaging.message.id': String(envelope.id),
        'troupe.actor.type': actor.actorType,
        'troupe.method': envelope.method,
      })
      const fail = (error: unknown): void => {
        span.recordException(error instanceof Error ? error : String(error))
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) })
        span.end()
      }
      return context.with(trace.setSpan(parent, span), () => {
        let result: unknown
        try {
          result = invoke()
        } catch (error) {
          fail(error)
          throw error
        }
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          ;(result as PromiseLike<unknown>).then(() => span.end(), fail)
        } else {
          span.end()
        }
        return result
      })
    },
  }
}
