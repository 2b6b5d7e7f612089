import type { ActorInfo } from './ActorSystem.ts'
import type { Envelope } from './Envelope.ts'
import { InvalidArgumentError } from './errors.ts'
import type { HandlerCounting, SendSampling } from './HandlerCounting.ts'

/**
 * Where tracing and metrics attach to message flow, without the runtime depending on either.
 * Absent by default: with none installed, the hot path pays one null check per message.
 *
 * Per-message hooks are plain calls with no closure: `beforeHandle` / `afterHandle` bracket every
 * handler. `aroundHandle` (a closure per call) runs only for the messages that need their handler
 * inside something, e.g. a sampled trace's context.
 */
export interface Instrumentation {
  /**
   * A message is leaving its sender (any kind that a handler will see: tell, ask, poison). Add
   * headers here, e.g. W3C `traceparent` from the active context. Replace `envelope.headers`
   * rather than mutating it: the object may be shared with the caller. `sampled` is true when the
   * runtime's send-site sampler (`sampling`) picked this send as a new trace's root.
   */
  onSend?(envelope: Envelope, sampled?: boolean): void
  /**
   * Runs just before each handler. Return `true` to have this message's handler run through
   * `aroundHandle`; anything else runs it directly. An instrumentation with `aroundHandle` and no
   * `beforeHandle` wraps every message.
   */
  beforeHandle?(envelope: Envelope, actor: ActorInfo): boolean | void
  /**
   * Runs once the handler's synchronous part is over: it returned `result` (a promise, for an async
   * handler still running) or threw `result` (`threw` true). Always paired with `beforeHandle`,
   * in reverse order of installation.
   */
  afterHandle?(envelope: Envelope, actor: ActorInfo, result: unknown, threw: boolean): void
  /**
   * Wraps one handler invocation. Must call `invoke` exactly once, synchronously, and return (or
   * rethrow) what it returns; a returned promise is the async handler's completion. Tracing runs
   * `invoke` inside the consumer span's context.
   */
  aroundHandle?(envelope: Envelope, actor: ActorInfo, invoke: () => unknown): unknown
  /**
   * An ask this system sent has settled: replied (`error` null), failed, or timed out
   * (ERR_ASK_TIMEOUT). `elapsedMs` runs from the send, on the system's clock. Ends a producer span,
   * times asks and counts timeouts. `request` is the envelope `onSend` saw.
   */
  onAskSettled?(request: Envelope, error: Error | null, elapsedMs: number): void
  /**
   * Per-actor-type counts and sampled handler timing kept by the dispatcher itself on plain fields
   * (see HandlerCounting): metrics without a call per message.
   */
  readonly counting?: HandlerCounting
  /**
   * Head sampling at the send site, for an instrumentation that acts only on traced messages
   * (tracing at a ratio below 1). With it the runtime calls `onSend` only for a send that carries
   * headers, one from a handler of a message with headers (or while such a handler's async part
   * runs), and 1 in `period` of the other sends from outside any handler (`sampled` true). A send
   * from a handler of a message without headers is left out: its trace was not sampled, and it
   * carries nothing. The handle hooks run only for messages with headers. Everything left out costs
   * a branch. `onAskSettled` still runs for every ask.
   */
  readonly sampling?: SendSampling
}

type Handler = (...args: unknown[]) => unknown

/**
 * Runs `handler` on `self` for `envelope` with `instrumentation`'s hooks around it: the dispatcher's
 * one call when instrumentation is installed. Only a message `beforeHandle` asks to wrap pays for
 * the `invoke` closure. A handler that throws leaves here without `afterHandle`: the dispatcher's
 * own catch calls `handlerThrew` (a second try/catch here cost a third of a tell).
 * Hooks must not throw.
 */
export function invokeInstrumented(instrumentation: Instrumentation, envelope: Envelope, actor: ActorInfo, self: object, handler: Handler): unknown {
  const around = instrumentation.aroundHandle
  const wrap = instrumentation.beforeHandle === undefined || instrumentation.beforeHandle(envelope, actor) === true
  const result = wrap && around !== undefined ? invokeWrapped(instrumentation, around, envelope, actor, self, handler) : handler.apply(self, envelope.args)
  if (instrumentation.afterHandle !== undefined) instrumentation.afterHandle(envelope, actor, result, false)
  return result
}

/** The handler `invokeInstrumented` ran threw `error`: closes the bracket `beforeHandle` opened. */
export function handlerThrew(instrumentation: Instrumentation, envelope: Envelope, actor: ActorInfo, error: unknown): void {
  if (instrumentation.afterHandle !== undefined) instrumentation.afterHandle(envelope, actor, error, true)
}

/**
 * The wrapped path, apart: a function that creates a closure allocates its captured variables on
 * every call, even when it returns before creating it.
 */
function invokeWrapped(
  instrumentation: Instrumentation,
  around: NonNullable<Instrumentation['aroundHandle']>,
  envelope: Envelope,
  actor: ActorInfo,
  self: object,
  handler: Handler,
): unknown {
  return around.call(instrumentation, envelope, actor, () => handler.apply(self, envelope.args))
}

/** Calls each instrumentation in turn, so tracing and metrics can both be installed. */
export function combineInstrumentation(parts: readonly Instrumentation[]): Instrumentation {
  const senders = parts.filter((p) => p.onSend !== undefined)
  const befores = parts.filter((p) => p.beforeHandle !== undefined || p.aroundHandle !== undefined)
  const afters = parts.filter((p) => p.afterHandle !== undefined).reverse()
  const wrappers = parts.filter((p) => p.aroundHandle !== undefined)
  const settled = parts.filter((p) => p.onAskSettled !== undefined)
  const counting = parts.filter((p) => p.counting !== undefined)
  if (counting.length > 1) throw new InvalidArgumentError('only one instrumentation may keep handler counts (counting)')
  // Send-site sampling holds when the parts that sample are the only ones with per-message hooks
  // (counting is not a hook): then the others lose nothing to it.
  const samplers = parts.filter((p) => p.sampling !== undefined)
  const perMessage = parts.filter((p) => p.sampling === undefined && (p.onSend !== undefined || p.beforeHandle !== undefined || p.afterHandle !== undefined || p.aroundHandle !== undefined))
  const sampling = samplers.length === 1 && perMessage.length === 0 ? (samplers[0] as Instrumentation).sampling : undefined
  const combined: { -readonly [K in keyof Instrumentation]: Instrumentation[K] } = {}
  const counts = counting[0]?.counting
  if (counts !== undefined) combined.counting = counts
  if (sampling !== undefined) combined.sampling = sampling
  // Which wrappers asked to wrap the message in hand (set by beforeHandle, read by aroundHandle;
  // the two run back to back for one message, with no handler between).
  const wrapping = new Array<boolean>(wrappers.length).fill(true)
  if (senders.length === 1) {
    const only = senders[0] as Instrumentation
    combined.onSend = (envelope, sampled) => only.onSend?.(envelope, sampled)
  } else if (senders.length > 1) {
    combined.onSend = (envelope, sampled) => {
      for (const part of senders) part.onSend?.(envelope, sampled)
    }
  }
  if (settled.length > 0) {
    combined.onAskSettled = (request, error, elapsedMs) => {
      for (const part of settled) part.onAskSettled?.(request, error, elapsedMs)
    }
  }
  if (befores.length > 0) {
    // Which parts asked to wrap the message in hand. Handlers may nest (a synchronous scheduler),
    // but beforeHandle and aroundHandle of one message run back to back, with no handler between.
    const slots = befores.map((part) => wrappers.indexOf(part))
    const [first, second] = befores as [Instrumentation, Instrumentation | undefined]
    if (befores.length === 2 && second !== undefined && first.beforeHandle !== undefined && second.beforeHandle !== undefined && first.aroundHandle !== undefined && second.aroundHandle === undefined) {
      // The usual pair (tracing, which wraps sampled messages, then metrics), unrolled.
      combined.beforeHandle = (envelope, actor) => {
        const wrap = first.beforeHandle?.(envelope, actor) === true
        wrapping[0] = wrap
        second.beforeHandle?.(envelope, actor)
        return wrap
      }
    } else combined.beforeHandle = (envelope, actor) => {
      let wrap = false
      for (let i = 0; i < befores.length; i++) {
        const part = befores[i] as Instrumentation
        const wants = part.beforeHandle === undefined ? true : part.beforeHandle(envelope, actor) === true
        const slot = slots[i] as number
        if (slot >= 0) {
          wrapping[slot] = wants
          if (wants) wrap = true
        }
      }
      return wrap
    }
  }
  if (afters.length === 2) {
    // The usual pair (tracing and metrics), unrolled: this runs for every message.
    const [first, second] = afters as [Instrumentation, Instrumentation]
    combined.afterHandle = (envelope, actor, result, threw) => {
      first.afterHandle?.(envelope, actor, result, threw)
      second.afterHandle?.(envelope, actor, result, threw)
    }
  } else if (afters.length > 0) {
    combined.afterHandle = (envelope, actor, result, threw) => {
      for (let i = 0; i < afters.length; i++) (afters[i] as Instrumentation).afterHandle?.(envelope, actor, result, threw)
    }
  }
  if (wrappers.length === 1) {
    // The usual case (tracing): it is only called when that one wrapper asked to wrap, so it is
    // called directly, with no closure per message.
    const only = wrappers[0] as Instrumentation
    combined.aroundHandle = (envelope, actor, invoke) => only.aroundHandle?.(envelope, actor, invoke)
  } else if (wrappers.length > 1) {
    combined.aroundHandle = (envelope, actor, invoke) => {
      // Read the choice now: a wrapped handler may run beforeHandle again for a nested message.
      let next = invoke
      for (let i = wrappers.length - 1; i >= 0; i--) {
        if (!(wrapping[i] as boolean)) continue
        const part = wrappers[i] as Instrumentation
        const inner = next
        next = () => part.aroundHandle?.(envelope, actor, inner)
      }
      return next()
    }
  }
  return combined
}
