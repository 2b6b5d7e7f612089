
/**
 * What a gateway counts, for /metrics and for refusals nobody else could see. Every label value is
 * bounded: public names are the ones the app published, methods the published ones or
 * UNKNOWN_METHOD_LABEL, outcomes `ok` or an error code.
 */
export interface GatewayStats {
  /** Calls received (asks and tells). */
  requests: number
  /** Calls answered with `{ok}`. */
  ok: number
  /** Error replies and refused tells, by code. */
  errors: Record<string, number>
  /** Calls without a reply subject: delivered as tells when valid. */
  noReply: number
  /** Calls without a reply subject that were refused: nobody could be told, so they are counted here. */
  refusedWithoutReply: number
  /** Refused tells by code (their sum is `refusedWithoutReply`). */
  refusedTells: Record<string, number>
  /**
   * Calls by public name, method and outcome: `calls[name][method][outcome]`. The outcome is `ok`
   * (an `{ok}` reply, or a tell delivered to the mailbox) or the error code.
   */
  calls: Record<string, Record<string, Record<string, number>>>
}

/** The method label of a call whose method is not published (or could not be read): never the caller's string. */
export const UNKNOWN_METHOD_LABEL = '<unknown>'
/** The outcome label of an error whose code is not a plain code token (an actor's own odd code). */
export const OTHER_OUTCOME_LABEL = '<other>'
export const OK_OUTCOME = 'ok'

const CODE_TOKEN = /^[A-Z][A-Z0-9_]{0,63}$/

export function emptyStats(): GatewayStats {
  return { requests: 0, ok: 0, errors: table(), noReply: 0, refusedWithoutReply: 0, refusedTells: table(), calls: table() }
}

/** Counts one call's outcome under bounded labels. */
export function countCall(stats: GatewayStats, name: string, method: string, outcome: string): void {
  const byMethod = (stats.calls[name] ??= table())
  const byOutcome = (byMethod[method] ??= table())
  const label = outcomeLabel(outcome)
  byOutcome[label] = (byOutcome[label] ?? 0) + 1
}

export function outcomeLabel(code: string): string {
  return code === OK_OUTCOME || CODE_TOKEN.test(code) ? code : OTHER_OUTCOME_LABEL
}

/** Null-prototype records: label values are plain keys, never inherited properties. */
function table<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}
