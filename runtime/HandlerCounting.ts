/**
 * Counting without hooks (issue #17): the dispatcher keeps per-actor-type counts on plain fields of
 * a record the instrumentation owns, and the instrumentation reads them when it is asked (a
 * Prometheus scrape). A tell then costs a field increment, not a call.
 */

/** What the dispatcher counts for one actor type. Subclass it to keep more beside (a histogram). */
export class ActorTypeCounts {
  readonly actorType: string
  /** Handlers that returned; an async one once its promise fulfilled. */
  ok = 0
  /** Handlers that threw; an async one once its promise rejected. */
  failed = 0
  /**
   * Handlers to go until the next timed one: the dispatcher reads the clock (twice) only when this
   * reaches 0, and `HandlerCounting.timed` sets it again.
   */
  untilTimed = 1
  constructor(actorType: string) {
    this.actorType = actorType
  }
}

/**
 * `Instrumentation.counting`: asks the dispatcher to count handled messages per actor type and to
 * time a sample of handlers. Nothing is called per message.
 */
export interface HandlerCounting {
  /** The record for `actorType`; the system asks once per actor class it meets. */
  countsFor(actorType: string): ActorTypeCounts
  /**
   * A timed handler completed (after `ok`/`failed` were counted), `ms` after it started on the
   * system's clock (an async handler: once settled). Must set `counts.untilTimed` to the number of
   * handlers until the next timed one (≥ 1).
   */
  timed(counts: ActorTypeCounts, ms: number): void
}

/**
 * `Instrumentation.sampling`: head sampling decided at the send site, with no call for the sends
 * left out. The instrumentation owns the countdown; the runtime decrements it for each send that
 * starts a trace (one from outside any handler, with no headers) and calls `onSend(envelope, true)`
 * when it reaches 0, after setting it back to `period`. `Infinity` never samples.
 */
export interface SendSampling {
  untilNext: number
  readonly period: number
}

/** @internal Which handlers the dispatcher runs through the instrumentation's handle hooks. */
export const HandleHooks = {
  None: 0,
  All: 1,
  /** Send-site sampling: only a message that carries headers can belong to a trace. */
  WithHeaders: 2,
} as const
export type HandleHooks = (typeof HandleHooks)[keyof typeof HandleHooks]
