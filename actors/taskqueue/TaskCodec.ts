/**
 * Task records as they sit in Redis (stream entry fields, delayed records), checked field by field:
 * anyone with access to the stream can XADD anything, so a delivery is hostile until it decodes.
 * A record that does not decode is never handed to a handler; the worker sends it to the DLQ with
 * the reason (ERR_TASK_MALFORMED) and its raw fields, truncated.
 */

/** One task as the queue keeps it (see taskScripts.ts for the field names). */
export interface TaskRecord {
  readonly id: string
  /** The payload's JSON text, as enqueued. */
  readonly payload: string
  /** Attempts already made (0 on the first delivery). */
  readonly attempts: number
  readonly maxAttempts: number
  /** Redis time (ms) of the enqueue (of the replay, for a replayed task). */
  readonly enqueuedAt: number
  readonly priority: string
  readonly idempotencyKey?: string
  readonly firstFailureAt?: number
  readonly lastError?: { readonly code: string; readonly message: string }
}

export type Decoded = { readonly ok: true; readonly task: TaskRecord; readonly value: unknown } | { readonly ok: false; readonly reason: string }

const MAX_FIELDS = 64
/** Longest error message kept in a record: enough to debug, not enough to bloat Redis. */
export const MAX_MESSAGE = 1024

function int(text: string | undefined, min: number, max: number): number | null {
  if (text === undefined || !/^-?[0-9]{1,16}$/.test(text)) return null
  const n = Number(text)
  return n >= min && n <= max ? n : null
}

/** A decimal integer of 1–16 digits within [min, max], read without a regex or a substring; null otherwise. */
function digits(text: string, from: number, to: number, min: number, max: number): number | null {
  if (to <= from || to - from > 16) return null
  let n = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i) - 48
    if (c < 0 || c > 9) return null
    n = n * 10 + c
  }
  return n >= min && n <= max ? n : null
}

/**
 * Decodes a stream entry's fields (`['h', '<id>:<attempts>:<max>:<enqueued ms>', 'p', payload,
 * optional name/value pairs…]`, see taskScripts.ts) into a task of `priority` (the stream's) and its
 * parsed payload. Positional and regex-free: this runs once per delivery.
 */
export function decodeTask(fields: unknown, priority: string, maxPayloadBytes: number): Decoded {
  if (!Array.isArray(fields) || fields.length % 2 !== 0 || fields.length > MAX_FIELDS * 2) return { ok: false, reason: 'fields are not a list of name/value pairs' }
  const header: unknown = fields[1]
  const payload: unknown = fields[3]
  if (fields[0] !== 'h' || fields[2] !== 'p' || typeof header !== 'string' || typeof payload !== 'string') return { ok: false, reason: 'unknown format version (a task entry starts with its header h and payload p)' }
  const c1 = header.indexOf(':')
  const c2 = header.indexOf(':', c1 + 1)
  const c3 = header.indexOf(':', c2 + 1)
  if (c1 < 1 || c1 > 20 || c3 < 0 || header.indexOf(':', c3 + 1) >= 0) return { ok: false, reason: 'malformed task header' }
  const id = header.slice(0, c1)
  for (let i = 0; i < c1; i++) {
    const c = id.charCodeAt(i)
    if (c < 48 || c > 57) return { ok: false, reason: 'missing or malformed task id' }
  }
  const maxAttempts = digits(header, c2 + 1, c3, 1, 1_000_000)
  if (maxAttempts === null) return { ok: false, reason: 'missing or malformed max attempts' }
  const attempts = digits(header, c1 + 1, c2, 0, maxAttempts - 1)
  if (attempts === null) return { ok: false, reason: 'missing or malformed attempts (or none left)' }
  const enqueuedAt = digits(header, c3 + 1, header.length, 0, Number.MAX_SAFE_INTEGER)
  if (enqueuedAt === null) return { ok: false, reason: 'missing or malformed enqueue time' }
  // UTF-8 takes at most 3 bytes per UTF-16 unit: count the bytes only when that bound is over.
  if (payload.length * 3 > maxPayloadBytes && Buffer.byteLength(payload) > maxPayloadBytes) return { ok: false, reason: `payload larger than ${maxPayloadBytes} bytes` }
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return { ok: false, reason: 'payload is not JSON' }
  }
  if (fields.length === 4) return { ok: true, task: { id, payload, attempts, maxAttempts, enqueuedAt, priority }, value }
  const f = new Map<string, string>()
  for (let i = 4; i < fields.length; i += 2) {
    const name: unknown = fields[i]
    const text: unknown = fields[i + 1]
    if (typeof name !== 'string' || typeof text !== 'string') return { ok: false, reason: 'a field name or value is not a string' }
    f.set(name, text)
  }
  const ff = f.get('ff') === undefined ? null : int(f.get('ff'), 0, Number.MAX_SAFE_INTEGER)
  const lc = f.get('lc')
  const task: TaskRecord = {
    id,
    payload,
    attempts,
    maxAttempts,
    enqueuedAt,
    priority,
    ...(f.get('k') === undefined ? {} : { idempotencyKey: f.get('k') as string }),
    ...(ff === null ? {} : { firstFailureAt: ff }),
    ...(lc === undefined ? {} : { lastError: { code: lc.slice(0, 64), message: (f.get('lm') ?? '').slice(0, MAX_MESSAGE) } }),
  }
  return { ok: true, task, value }
}

/** The flat fields of a task record, for the retry path (the Lua fills ff / lf). */
export function encodeTask(task: TaskRecord, error: { code: string; message: string } | null): string[] {
  const out = ['v', '1', 'id', task.id, 'p', task.payload, 'a', String(task.attempts), 'm', String(task.maxAttempts), 't', String(task.enqueuedAt), 'pr', task.priority]
  if (task.idempotencyKey !== undefined) out.push('k', task.idempotencyKey)
  if (task.firstFailureAt !== undefined) out.push('ff', String(task.firstFailureAt))
  if (error !== null) out.push('lc', error.code, 'lm', error.message.slice(0, MAX_MESSAGE))
  return out
}

/** One DLQ record, decoded for `deadLetters()`: what failed, how often, when, and why. */
export interface DeadLetter {
  /** The DLQ stream entry id: give it to `replay({ ids })`. */
  readonly dlqId: string
  readonly taskId: string | null
  readonly priority: string | null
  /** The payload JSON text, or null when the record had none (a malformed entry: see `raw`). */
  readonly payload: string | null
  readonly code: string
  readonly message: string
  readonly attempts: number
  readonly firstFailureAt: number | null
  readonly lastFailureAt: number | null
  /** The raw fields of a malformed entry, truncated. */
  readonly raw: string | null
}

/** Fields of a DLQ record for a task that failed for good. */
export function deadRecord(task: TaskRecord, attempts: number, error: { code: string; message: string }, sourceId: string): string[] {
  const out = ['id', task.id, 'pr', task.priority, 'p', task.payload, 'm', String(task.maxAttempts), 'code', error.code, 'message', error.message.slice(0, MAX_MESSAGE), 'attempts', String(attempts), 'src', sourceId]
  out.push('first', task.firstFailureAt === undefined ? '' : String(task.firstFailureAt))
  if (task.idempotencyKey !== undefined) out.push('k', task.idempotencyKey)
  return out
}

/** Fields of a DLQ record for an entry that did not decode. */
export function malformedRecord(fields: unknown, reason: string, sourceId: string): string[] {
  let raw: string
  try {
    raw = JSON.stringify(fields) ?? String(fields)
  } catch {
    raw = String(fields)
  }
  return ['code', 'ERR_TASK_MALFORMED', 'message', reason, 'raw', raw.slice(0, MAX_MESSAGE), 'attempts', '0', 'src', sourceId]
}

/** Decodes a DLQ entry leniently (whatever anyone wrote there is shown, not trusted). */
export function decodeDeadLetter(id: string, fields: unknown): DeadLetter {
  const f = new Map<string, string>()
  if (Array.isArray(fields)) for (let i = 0; i + 1 < fields.length && i < MAX_FIELDS * 2; i += 2) if (typeof fields[i] === 'string' && typeof fields[i + 1] === 'string') f.set(fields[i] as string, fields[i + 1] as string)
  const num = (name: string): number | null => {
    const n = int(f.get(name), 0, Number.MAX_SAFE_INTEGER)
    return n
  }
  return {
    dlqId: id,
    taskId: f.get('id') ?? null,
    priority: f.get('pr') ?? null,
    payload: f.get('p') ?? null,
    code: f.get('code') ?? 'ERR_TASK_MALFORMED',
    message: f.get('message') ?? '',
    attempts: num('attempts') ?? 0,
    firstFailureAt: num('first'),
    lastFailureAt: num('last'),
    raw: f.get('raw') ?? null,
  }
}
