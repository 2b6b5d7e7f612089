import { Match, type MsgHdrs } from '@nats-io/nats-core'
import { BadRequestError, DeadlineExceededError } from './errors.ts'
import { GatewayHeaders } from './protocol.ts'

/** A header's value ('' when absent), names matched without case. */
export function header(headers: MsgHdrs | undefined, name: string): string {
  return headers === undefined ? '' : headers.get(name, Match.IgnoreCase)
}

/** Header bytes as they were on the wire: `NATS/1.0\r\n`, each `Key: value\r\n`, then `\r\n`. */
export function headerBytes(headers: MsgHdrs | undefined): number {
  if (headers === undefined) return 0
  let bytes = 12
  for (const key of headers.keys()) for (const value of headers.values(key)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + 4
  return bytes
}

/** `Troupe-Timeout`: decimal digits only (no sign, space, exponent, fraction or hex). */
const DECIMAL_MS = /^[0-9]+$/

/** The ask timeout a request asks for (capped at `maxMs`; `defaultMs` when absent), or why it is refused. */
export function timeoutOf(headers: MsgHdrs | undefined, defaultMs: number, maxMs: number): number | BadRequestError | DeadlineExceededError {
  if (headers?.has(GatewayHeaders.Timeout, Match.IgnoreCase) !== true) return defaultMs
  const text = header(headers, GatewayHeaders.Timeout)
  if (!DECIMAL_MS.test(text)) return new BadRequestError(`${GatewayHeaders.Timeout} must be a decimal integer of milliseconds, got '${text.slice(0, 40)}'`)
  const value = Number(text)
  if (value === 0) return new DeadlineExceededError(`the caller's deadline had passed on arrival (${GatewayHeaders.Timeout}: 0)`)
  return Math.min(value, maxMs)
}
