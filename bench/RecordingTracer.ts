/**
 * A minimal recording `Tracer` of `@opentelemetry/api` for the observability benchmark: it keeps
 * what a span is given (name, kind, parent, links, attributes, status, ended) in an array and does
 * nothing else — no clock reads, no random ids, no processor. With it, a traced message costs what
 * Troupe itself does (propagation, context, attributes, hooks); the difference to the real SDK in
 * the same run is the SDK's own cost per span.
 *
 * Ids come from a pool made up front (formatting fresh hex ids cost ~0.9 µs a span here, more than
 * Troupe's share), and the array keeps the last RECENT spans: keeping a run's 20 000 alive made
 * every scavenge copy them, a cost of this recorder, not of the code under test.
 */
import { context, trace, type Attributes, type AttributeValue, type Context, type Exception, type Link, type Span, type SpanContext, type SpanOptions, type SpanStatus, type Tracer } from '@opentelemetry/api'

export interface RecordedSpan {
  name: string
  readonly kind: number
  readonly parentSpanId: string | undefined
  readonly links: readonly Link[]
  readonly attributes: Attributes[]
  status: SpanStatus | undefined
  ended: boolean
}

const SAMPLED = 1
const POOL = 4096
/** Spans kept for inspection; the count of ended ones covers them all. */
const RECENT = 1024

function hexIds(width: number, salt: number): string[] {
  return Array.from({ length: POOL }, (_, i) => (salt + i + 1).toString(16).padStart(width, '0'))
}
const TRACE_IDS = hexIds(32, 0x1_0000)
const SPAN_IDS = hexIds(16, 0x2_0000)

class RecordingSpan implements Span {
  readonly record: RecordedSpan
  private readonly ids: SpanContext
  private readonly tracer: RecordingTracer
  constructor(tracer: RecordingTracer, ids: SpanContext, record: RecordedSpan) {
    this.tracer = tracer
    this.ids = ids
    this.record = record
  }
  spanContext(): SpanContext {
    return this.ids
  }
  setAttribute(key: string, value: AttributeValue): this {
    this.record.attributes.push({ [key]: value })
    return this
  }
  setAttributes(attributes: Attributes): this {
    // Kept by reference: copying is a cost of this recorder, not of the caller.
    this.record.attributes.push(attributes)
    return this
  }
  addEvent(): this {
    return this
  }
  addLink(): this {
    return this
  }
  addLinks(): this {
    return this
  }
  setStatus(status: SpanStatus): this {
    this.record.status = status
    return this
  }
  updateName(name: string): this {
    this.record.name = name
    return this
  }
  end(): void {
    if (this.record.ended) return
    this.record.ended = true
    this.tracer.ended++
  }
  isRecording(): boolean {
    return !this.record.ended
  }
  recordException(_exception: Exception): void {}
}

/** Ids valid for W3C (non-zero lower-case hex of the right length), reused every POOL spans. */
export class RecordingTracer implements Tracer {
  /** The last RECENT spans started (a ring once full). */
  readonly spans: RecordedSpan[] = []
  ended = 0
  private next = 0
  startSpan(name: string, options: SpanOptions = {}, parentContext?: Context): Span {
    const parent = parentContext === undefined ? undefined : trace.getSpanContext(parentContext)
    const slot = this.next++ % POOL
    const spanContext: SpanContext = {
      traceId: parent === undefined ? (TRACE_IDS[slot] as string) : parent.traceId,
      spanId: SPAN_IDS[slot] as string,
      traceFlags: SAMPLED,
    }
    const record: RecordedSpan = { name, kind: options.kind ?? 0, parentSpanId: parent?.spanId, links: options.links ?? [], attributes: [], status: undefined, ended: false }
    if (options.attributes !== undefined) record.attributes.push(options.attributes)
    // A ring: once RECENT are kept, the oldest is overwritten.
    if (this.spans.length < RECENT) this.spans.push(record)
    else this.spans[slot % RECENT] = record
    return new RecordingSpan(this, spanContext, record)
  }
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest[rest.length - 1] as (span: Span) => ReturnType<F>
    const parent = rest.length > 2 ? (rest[1] as Context) : context.active()
    const span = this.startSpan(name, (rest.length > 1 ? rest[0] : undefined) as SpanOptions | undefined, parent)
    return context.with(trace.setSpan(parent, span), fn, undefined, span)
  }
  /** Spans ended since the last reset; forgets them. */
  reset(): number {
    const ended = this.ended
    this.ended = 0
    this.spans.length = 0
    return ended
  }
}
