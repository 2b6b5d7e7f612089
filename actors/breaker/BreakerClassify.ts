/** A call's outcome as the client notes it (the actor's `OUTCOMES` names them in reports). */
export const SUCCESS = 0
export const FAILURE = 1
export const IGNORED = 2
export const TIMEOUT = 3

export const isThenable = (value: unknown): value is PromiseLike<unknown> => value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'

interface ErrorPredicates {
  readonly ignoreError: ((error: unknown) => boolean) | null
  readonly recordError: ((error: unknown) => boolean) | null
}

/** resilience4j's rules: ignored wins; an error the record predicate does not match counts as a success; a throwing predicate is a failure. */
export function classifyError(predicates: ErrorPredicates, error: unknown): number {
  try {
    if (predicates.ignoreError !== null && predicates.ignoreError(error)) return IGNORED
    if (predicates.recordError !== null && !predicates.recordError(error)) return SUCCESS
  } catch (_predicateFailed) {
    return FAILURE
  }
  return FAILURE
}

/** A result the record predicate matches counts as a failure (a success can be a failure). */
export function classifyResult(predicates: { readonly recordResult: ((result: unknown) => boolean) | null }, result: unknown): number {
  if (predicates.recordResult === null) return SUCCESS
  try {
    return predicates.recordResult(result) ? FAILURE : SUCCESS
  } catch (_predicateFailed) {
    return FAILURE
  }
}
