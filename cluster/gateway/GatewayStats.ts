
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

/**
 * Distinct outcome codes kept per table: an actor may build codes from its input
 * (`ERR_NOT_FOUND_<KEY>`), and a label set must not grow with what callers send.
 */
export const MAX_OUTCOME_LABELS = 64

/** Counts one call's outcome under bounded labels. */
export function countCall(stats: GatewayStats, name: string, method: string, outcome: string): void {
  const byMethod = (stats.calls[name] ??= table())
  countOutcome((byMethod[method] ??= table()), outcome)
}

/** Adds one to `counts[outcomeLabel(code)]`, or to `<other>` once the table holds MAX_OUTCOME_LABELS codes. */
export function countOutcome(counts: Record<string, number>, code: string): void {
  let label = outcomeLabel(code)
  if (counts[label] === undefined && Object.keys(counts).length >= MAX_OUTCOME_LABELS) label = OTHER_OUTCOME_LABEL
  counts[label] = (counts[label] ?? 0) + 1
}

/** Whether `code` is a plain error-code token (safe in a NATS header and as a label). */
export function isCodeToken(code: string): boolean {
  return CODE_TOKEN.test(code)
}

export function outcomeLabel(code: string): string {
  return code === OK_OUTCOME || CODE_TOKEN.test(code) ? code : OTHER_OUTCOME_LABEL
}

/** Null-prototype records: label values are plain keys, never inherited properties. */
function table<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>
}
