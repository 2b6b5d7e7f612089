import type { ActorInfo } from './ActorSystem.ts'
import type { Envelope } from './Envelope.ts'

/**
 * Where tracing and metrics attach to message flow, without the runtime depending on either.
 * Absent by default: with none installed, the hot path pays one null check per message.
 */
export interface Instrumentation {
  /**
   * A message is leaving its sender (any kind that a handler will see: tell, ask, poison). Add
   * headers here, e.g. W3C `traceparent` from the active context. Replace `envelope.headers`
   * rather than mutating it: the object may be shared with the caller.
   */
  onSend?(envelope: Envelope): void
  /**
   * Wraps one handler invocation. Must call `invoke` exactly once, synchronously, and return (or
   * rethrow) what it returns; a returned promise is the async handler's completion. Tracing runs
   * `invoke` inside the consumer span's context; metrics time it and count the outcome.
   */
  aroundHandle?(envelope: Envelope, actor: ActorInfo, invoke: () => unknown): unknown
  /**
   * An ask this system sent has settled: replied (`error` null), failed, or timed out
   * (ERR_ASK_TIMEOUT). `elapsedMs` runs from the send, on the system's clock. Ends a producer span,
   * times asks and counts timeouts. `request` is the envelope `onSend` saw.
   */
  onAskSettled?(request: Envelope, error: Error | null, elapsedMs: number): void
}

/** Calls each instrumentation in turn, so tracing and metrics can both be installed. */
export function combineInstrumentation(parts: readonly Instrumentation[]): Instrumentation {
  const senders = parts.filter((p) => p.onSend !== undefined)
  const wrappers = parts.filter((p) => p.aroundHandle !== undefined)
  const combined: Instrumentation = {}
  if (senders.length > 0) {
    combined.onSend = (envelope) => {
      for (const part of senders) part.onSend?.(envelope)
    }
  }
  const settled = parts.filter((p) => p.onAskSettled !== undefined)
  if (settled.length > 0) {
    combined.onAskSettled = (request, error, elapsedMs) => {
      for (const part of settled) part.onAskSettled?.(request, error, elapsedMs)
    }
  }
  if (wrappers.length > 0) {
    combined.aroundHandle = (envelope, actor, invoke) => {
      let next = invoke
      for (let i = wrappers.length - 1; i >= 0; i--) {
        const part = wrappers[i] as Instrumentation
        const inner = next
        next = () => part.aroundHandle?.(envelope, actor, inner)
      }
      return next()
    }
  }
  return combined
}
