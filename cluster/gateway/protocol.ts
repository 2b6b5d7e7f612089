/**
 * Wire constants of the external call protocol (docs/protocol.md). Any NATS client in any language
 * speaks it: request `{method, args}` on `<prefix>.<cluster>.call.<publicName>`, reply `{ok}` or
 * `{error: {code, message}}`, both in the request's content type.
 */
export const GatewayHeaders = {
  /** `application/json` (default when absent) or `application/msgpack`; the reply uses the same. */
  ContentType: 'Content-Type',
  /**
   * The caller's remaining time budget in milliseconds, counted from when the gateway receives the
   * request: decimal digits only (`0` is already expired; anything else is ERR_BAD_REQUEST).
   * Relative, so no clock sync is needed.
   */
  Timeout: 'Troupe-Timeout',
  /** Set on error replies: the error code, readable without decoding the body. */
  Error: 'Troupe-Error',
} as const

export const ContentTypes = {
  Json: 'application/json',
  Msgpack: 'application/msgpack',
} as const
export type ContentType = (typeof ContentTypes)[keyof typeof ContentTypes]

/** W3C trace context headers passed through to the actor's envelope. */
export const TRACE_HEADERS = ['traceparent', 'tracestate'] as const

/** Request payload as callers write it. */
export interface CallRequest {
  readonly method: string
  readonly args?: readonly unknown[]
}

/** Reply payload: exactly one of the two keys. */
export type CallReply = { readonly ok: unknown } | { readonly error: { readonly code: string; readonly message: string; readonly data?: unknown } }

/** Published-name gossip between gateways (JSON on `<prefix>.<cluster>.gw.names`). */
export interface NamesAnnouncement {
  readonly v: 1
  readonly gateway: string
  readonly names: readonly string[]
  /** How long the list holds if not repeated (gateways repeat it well within). */
  readonly ttlMs: number
}

/** Largest request, payload and header bytes together. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024
export const DEFAULT_MAX_TIMEOUT_MS = 60_000
