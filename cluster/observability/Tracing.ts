import type { Context, Link, Span, Tracer } from '@opentelemetry/api'
import { EnvelopeKind, type ActorInfo, type Envelope, type Instrumentation, type SendSampling } from '../../runtime/index.ts'
import { EMPTY_CONTEXT } from './LinkedContext.ts'
import { otel } from './otel.ts'

export interface TracingOptions {
  /** Tracer to use; default `trace.getTracer('troupe')` from the global provider. */
  readonly tracer?: Tracer
  /**
   * Head sampling by Troupe, before the SDK is asked: the share of *root* sends (no trace to
   * continue) that start a trace, 1 in round(1 / ratio), counted (no randomness). Default 1: every
   * root goes to the SDK's sampler. The OpenTelemetry SDK costs microseconds per span even for one
   * it drops; below 1 the runtime decides at the send site (Instrumentation.sampling): the sends
   * left out cost a branch and carry nothing, their handlers run with no hook, and so their own
   * sends stay out (a sampled trace stays whole, an unsampled one adds nothing downstream). A send
   * from plain code under an active OTel context then continues it only when picked (reading the
   * active context costs as much as a tell).
   */
  readonly sampleRatio?: number
}

/**
 * Headers of a send left out by Troupe's sampler: one shared object, recognised by identity. A
 * handler of such a message sends its own messages unsampled too (during its synchronous part).
 */
const UNSAMPLED: Readonly<Record<string, string>> = Object.freeze({ 'troupe-sampled': '0' })

/** Version of the OpenTelemetry semantic conventions (messaging spans) these spans follow. */
export const SEMCONV_VERSION = '1.27.0'

const SPAN_KIND_PRODUCER = 3
const SPAN_KIND_CONSUMER = 4
const STATUS_ERROR = 2

/**
 * The context a carrier made by `onSend` was injected from, on the carrier under a symbol. A
 * message handled in this process takes its parent from there rather than parsing its
 * `traceparent` back (the parse costs ~1 µs, as much as the rest of a traced message's own work).
 * No codec, `JSON` or structured clone carries a symbol-keyed property, so a carrier that crossed
 * a thread or a node arrives without it and is extracted. (A WeakMap by carrier did the same at
 * twice the GC cost.) Headers are replaced, never mutated (Instrumentation.onSend): a copy that
 * adds a header keeps this context, which is still the one its `traceparent` says.
 */
const SENT_FROM: unique symbol = Symbol('troupe.sentFrom')
/** The `traceparent` injected with SENT_FROM: a copy whose `traceparent` was replaced since is extracted instead. */
const SENT_AS: unique symbol = Symbol('troupe.sentAs')
interface Carrier {
  [SENT_FROM]?: Context
  [SENT_AS]?: string | undefined
}

/** The sender's context if `headers` still carry what it injected, else what the headers say. */
function parentOf(headers: Readonly<Record<string, string>>, propagation: NonNullable<typeof otel>['propagation']): Context {
  const carrier = headers as Carrier
  const sent = carrier[SENT_FROM]
  if (sent !== undefined && carrier[SENT_AS] === headers['traceparent']) return sent
  return propagation.extract(EMPTY_CONTEXT, headers)
}

/** Ends a consumer span on a handler's failure, with the conventions' error attributes. */
function fail(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error))
  span.setAttribute('error.type', errorType(error))
  span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) })
  span.end()
}

/**
 * Runs a handler inside its consumer span (called by `context.with` with the span and `invoke` as
 * arguments: no closure per message) and ends the span when the handler is done.
 */
function runInSpan(span: Span, invoke: () => unknown): unknown {
  let result: unknown
  try {
    result = invoke()
  } catch (error) {
    fail(span, error)
    throw error
  }
  if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
    ;(result as PromiseLike<unknown>).then(
      () => span.end(),
      (error: unknown) => fail(span, error),
    )
  } else {
    span.end()
  }
  return result
}

/**
 * `messaging.destination.name`: the actor's type when it lives here (low cardinality, as the
 * conventions ask), else its path with the last segment templated (`/user/accounts/*`): actor
 * names are ids, and ids never go into a destination name.
 */
export function destinationOf(envelope: Envelope): string {
  const cell = envelope.target.cell as Partial<ActorInfo> | null
  if (cell !== null && typeof cell.actorType === 'string') return cell.actorType
  const path = envelope.target.path
  const slash = path.lastIndexOf('/')
  return slash <= 0 ? path : `${path.slice(0, slash)}/*`
}

/** `error.type`: a typed error's stable code, else its class name. */
export function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code !== '') return code
  return error instanceof Error ? error.name : '_OTHER'
}

/**
 * OpenTelemetry through `@opentelemetry/api` only, following the messaging semantic conventions
 * (v1.27.0, messaging spans):
 * - a PRODUCER `send` span per tell and ask on the caller's side (`tell Counter`, `ask Counter`),
 *   whose context the envelope carries (W3C `traceparent`/`tracestate` via the global propagator).
 *   A tell's span ends once the message is handed over; an ask's ends at its reply, failure or
 *   timeout, with `error.type` (ERR_ASK_TIMEOUT, ERR_NODE_DOWN, …) — waiting shows on the caller;
 * - a CONSUMER `process` span per handled message, child of and linked to that creation context;
 *   the handler runs inside it, so the messages it sends continue the trace across actors,
 *   shards and nodes.
 * Without `@opentelemetry/api` installed (an optional peer) this is a no-op: no SDK could be
 * listening anyway.
 */
export function createTracing(options: TracingOptions = {}): Instrumentation {
  const api = otel
  if (api === null) return {}
  const { context, propagation, ROOT_CONTEXT, trace, isSpanContextValid } = api
  const tracer = options.tracer ?? trace.getTracer('troupe')
  const ratio = options.sampleRatio ?? 1
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`sampleRatio must be within [0, 1], got ${ratio}`)
  const period = ratio === 0 ? 0 : Math.max(1, Math.round(1 / ratio))
  // Below ratio 1 the runtime samples at the send site on this countdown (Instrumentation.sampling):
  // a send left out costs a branch, with no call and nothing carried. Root 0 is sampled, then 1 in `period`.
  const sampling: SendSampling | null = period === 1 ? null : { untilNext: period === 0 ? Infinity : 1, period: period === 0 ? Infinity : period }
  /** Troupe's head sampler, for the sends and messages the runtime hands over undecided: true for 1 root in `period`. */
  const sampleRoot = (): boolean => {
    if (sampling === null) return true
    if (--sampling.untilNext > 0) return false
    sampling.untilNext = sampling.period
    return true
  }
  /** Set while an unsampled message's handler runs (synchronously): its sends stay unsampled. */
  let handlingUnsampled = false
  const saved: boolean[] = []
  let depth = 0
  // Open ask spans (sampled ones only), by request envelope.
  const asks = new WeakMap<Envelope, Span>()
  /** Marks a send left out, so that it stays out downstream; a send without headers is already out when the runtime samples. */
  const leaveOut = (envelope: Envelope): void => {
    if (envelope.headers === null) {
      if (sampling === null) envelope.headers = UNSAMPLED
    } else if (envelope.headers !== UNSAMPLED) envelope.headers = { ...envelope.headers, 'troupe-sampled': '0' }
  }
  const instrumentation: { -readonly [K in keyof Instrumentation]: Instrumentation[K] } = {
    onSend(envelope: Envelope, sampled?: boolean): void {
      if (handlingUnsampled && envelope.headers === null) {
        leaveOut(envelope)
        return
      }
      // The sender's context: the active one, else what the envelope already carries (a gateway
      // forwarding an external caller's traceparent), so the caller's trace goes on.
      let active = context.active()
      // ROOT_CONTEXT (no context.with in force) is the common case from plain code: no lookup.
      if (active === ROOT_CONTEXT || trace.getSpanContext(active) === undefined) {
        if (envelope.headers !== null && envelope.headers['traceparent'] !== undefined) active = propagation.extract(active, envelope.headers)
        // `sampled`: the runtime's sampler already picked this root.
        else if (sampled !== true && !sampleRoot()) {
          leaveOut(envelope)
          return
        }
      }
      const isAsk = envelope.kind === EnvelopeKind.Ask
      const operation = isAsk ? 'ask' : 'tell'
      const destination = destinationOf(envelope)
      const span = tracer.startSpan(`${operation} ${destination}`, { kind: SPAN_KIND_PRODUCER }, active)
      const recording = span.isRecording()
      // No SDK and no trace to continue: nothing to carry. (A recording span has valid ids: the
      // check, two regular expressions, is left to the spans that may not.)
      if (!recording && !isSpanContextValid(span.spanContext())) return
      const carrier: Record<string, string> = envelope.headers === null ? {} : { ...envelope.headers }
      // From plain code, the producer's context is a LinkedContext (one object, not a Map copy).
      const sent = trace.setSpan(active === ROOT_CONTEXT ? EMPTY_CONTEXT : active, span)
      propagation.inject(sent, carrier)
      ;(carrier as Carrier)[SENT_FROM] = sent
      ;(carrier as Carrier)[SENT_AS] = carrier['traceparent']
      envelope.headers = carrier
      if (!recording) return
      span.setAttributes({
        'messaging.system': 'troupe',
        'messaging.operation.type': 'send',
        'messaging.operation.name': operation,
        'messaging.destination.name': destination,
        'messaging.message.id': String(envelope.id),
        'troupe.method': envelope.method,
      })
      if (isAsk) asks.set(envelope, span)
      else span.end()
    },
    onAskSettled(request: Envelope, error: Error | null): void {
      if (request.headers === null || request.headers === UNSAMPLED) return
      const span = asks.get(request)
      if (span === undefined) return
      asks.delete(request)
      if (error !== null) {
        span.setAttribute('error.type', errorType(error))
        span.setStatus({ code: STATUS_ERROR, message: error.message })
      }
      span.end()
    },
    beforeHandle(envelope: Envelope): boolean {
      const headers = envelope.headers
      // Unsampled by Troupe here, or on another shard or node (the marker crossed as a copy).
      const unsampled = headers === UNSAMPLED || (headers === null ? period !== 1 && !sampleRoot() : headers['troupe-sampled'] === '0')
      // Handlers can nest (a synchronous scheduler): keep the outer handler's state to restore.
      saved[depth++] = handlingUnsampled
      handlingUnsampled = unsampled
      return !unsampled
    },
    afterHandle(): void {
      handlingUnsampled = saved[--depth] as boolean
    },
    /** Only for the messages `beforeHandle` found sampled: the consumer span, and the handler inside its context. */
    aroundHandle(envelope: Envelope, actor: ActorInfo, invoke: () => unknown): unknown {
      const headers = envelope.headers
      // Sent from this process: the sender's context itself (its producer span, its baggage).
      const parent = headers === null ? EMPTY_CONTEXT : parentOf(headers, propagation)
      const creation = trace.getSpanContext(parent)
      const links: Link[] = creation === undefined ? [] : [{ context: creation }]
      const span = tracer.startSpan(`process ${actor.actorType}`, { kind: SPAN_KIND_CONSUMER, links }, parent)
      if (!span.isRecording()) {
        // No SDK, or sampled out: skip the attributes. A context from upstream still has to flow
        // to the messages this handler sends.
        if (creation === undefined) return invoke()
        return context.with(trace.setSpan(parent, span), invoke)
      }
      span.setAttributes({
        'messaging.system': 'troupe',
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.destination.name': actor.actorType,
        'messaging.message.id': String(envelope.id),
        'troupe.method': envelope.method,
      })
      return context.with(trace.setSpan(parent, span), runInSpan, undefined, span, invoke)
    },
  }
  if (sampling !== null) instrumentation.sampling = sampling
  return instrumentation
}
