import { otel } from './otel.ts'
import { errorType } from './Tracing.ts'

const SPAN_KIND_CONSUMER = 4
const STATUS_ERROR = 2

/** One external call's span at the gateway: the asks it makes run inside it. */
export interface GatewaySpan {
  /** Runs `call` with the span as the active context, so the ask it sends is the span's child. */
  run<T>(call: () => T): T
  /** Ends the span; `error` (the reply's error, or null) sets its status and `error.type`. */
  end(error: unknown): void
}

const NO_SPAN: GatewaySpan = { run: (call) => call(), end: () => {} }

/**
 * A CONSUMER `process <subject>` span for an external call (messaging semantic conventions v1.27.0,
 * `messaging.system=nats`), child of the caller's context from the request's `traceparent`. The
 * subject names a published public name, so it is low-cardinality. Without @opentelemetry/api, or
 * when neither an SDK nor the caller records, it costs nothing.
 */
export function gatewaySpan(subject: string, publicName: string, method: string, headers: Readonly<Record<string, string>>): GatewaySpan {
  const api = otel
  if (api === null) return NO_SPAN
  const { context, propagation, ROOT_CONTEXT, trace } = api
  const parent = headers['traceparent'] === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, headers)
  const span = trace.getTracer('troupe').startSpan(`process ${subject}`, { kind: SPAN_KIND_CONSUMER }, parent)
  if (!span.isRecording() && trace.getSpanContext(parent) === undefined) return NO_SPAN
  span.setAttributes({
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': subject,
    'troupe.public_name': publicName,
    'troupe.method': method,
  })
  const active = trace.setSpan(parent, span)
  return {
    run: (call) => context.with(active, call),
    end: (error) => {
      if (error !== null && error !== undefined) {
        span.setAttribute('error.type', errorType(error))
        span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) })
      }
      span.end()
    },
  }
}
