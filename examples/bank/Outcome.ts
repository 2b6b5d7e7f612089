import { encodeError, type EncodedError } from '../../runtime/index.ts'

/**
 * The reply of an operation that can be refused. A handler that throws crashes its actor (its
 * supervisor then restarts it), so expected refusals such as insufficient funds are returned as
 * data instead; only real faults are thrown. The error is in its encoded form (`{code, name,
 * message, data}`) so the reply stays plain data on any hop; `decodeError` rebuilds the class.
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: EncodedError }

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value }
}

export function refused<T = never>(error: Error): Outcome<T> {
  return { ok: false, error: encodeError(error) }
}
