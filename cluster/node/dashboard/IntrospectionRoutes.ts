import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Clock, TimerHandle } from '../../../runtime/index.ts'
import type { Exposure } from '../settings.ts'
import type { NodeIntrospection } from '../Introspection.ts'
import { DASHBOARD_HTML, DASHBOARD_JS } from './page.ts'

/** Bounds of a live stream's period (ms): a client cannot make the node snapshot in a tight loop. */
export const STREAM_INTERVAL = { min: 100, default: 1000, max: 60_000 } as const
const MAX_STREAMS = 16

export interface IntrospectionAccess {
  readonly dashboard: Exposure
  readonly inspect: Exposure
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

/** `Host` without its port: a page on another site that resolves to 127.0.0.1 (DNS rebinding) names its own host. */
function hostName(header: string | undefined): string {
  if (header === undefined) return ''
  const match = /^(\[[^\]]*\]|[^:]*)/.exec(header)
  return (match?.[1] ?? '').toLowerCase()
}

/** Whether `request` may use a feature with this exposure (loopback: address and Host header, against DNS rebinding). */
export function allowed(exposure: Exposure, request: IncomingMessage): boolean {
  if (exposure === 'on') return true
  if (exposure === 'off') return false
  return isLoopbackAddress(request.socket.remoteAddress) && (LOOPBACK_HOSTS.has(hostName(request.headers.host)) || hostName(request.headers.host).startsWith('127.'))
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

function integerParam(params: URLSearchParams, name: string): number | undefined | 'invalid' {
  const raw = params.get(name)
  if (raw === null || raw === '') return undefined
  if (!/^\d+$/.test(raw)) return 'invalid'
  return Number(raw)
}

/**
 * The HTTP side of introspection: `/introspect/{status,tree,actor,dead-letters,stream}` (JSON and
 * SSE) and the `/dashboard` page. Each is answered only to the clients its setting lets in; the
 * rest get 403 (or 404 when off), with the setting to change named.
 */
export class IntrospectionRoutes {
  private readonly introspection: NodeIntrospection
  private readonly access: IntrospectionAccess
  private readonly clock: Clock
  private readonly streams = new Set<() => void>()

  constructor(introspection: NodeIntrospection, access: IntrospectionAccess, clock: Clock) {
    this.introspection = introspection
    this.access = access
    this.clock = clock
  }

  /** The endpoints to list on a 404. */
  get endpoints(): string[] {
    const out: string[] = []
    if (this.access.inspect !== 'off' || this.access.dashboard !== 'off') out.push('/introspect/status', '/introspect/tree', '/introspect/actor', '/introspect/dead-letters', '/introspect/stream')
    if (this.access.dashboard !== 'off') out.push('/dashboard')
    return out
  }

  /** Handles the request when it is one of ours; false lets the server go on. */
  handle(request: IncomingMessage, response: ServerResponse, path: string, params: URLSearchParams): boolean {
    if (path === '/dashboard' || path === '/dashboard/' || path === '/dashboard/app.js') {
      if (this.access.dashboard === 'off') {
        json(response, 404, { error: 'the dashboard is off', hint: 'start the node with --dashboard localhost (or TROUPE_DASHBOARD=localhost)' })
        return true
      }
      if (!allowed(this.access.dashboard, request)) {
        json(response, 403, { error: 'the dashboard answers loopback clients only', hint: 'use --dashboard on to open it to the network (behind your own access control)' })
        return true
      }
      const script = path === '/dashboard/app.js'
      response.writeHead(200, {
        'content-type': script ? 'text/javascript; charset=utf-8' : 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
      })
      response.end(script ? DASHBOARD_JS : DASHBOARD_HTML)
      return true
    }
    if (!path.startsWith('/introspect/')) return false
    const exposure = this.access.dashboard === 'on' || this.access.inspect === 'on' ? 'on' : this.access.dashboard === 'localhost' || this.access.inspect === 'localhost' ? 'localhost' : 'off'
    if (exposure === 'off') {
      json(response, 404, { error: 'the introspection API is off', hint: 'start the node with --inspect localhost (or TROUPE_INSPECT=localhost)' })
      return true
    }
    if (!allowed(exposure, request)) {
      json(response, 403, { error: 'the introspection API answers loopback clients only', hint: 'use --inspect on to open it to the network' })
      return true
    }
    const shard = integerParam(params, 'shard')
    if (shard === 'invalid') {
      json(response, 400, { error: `shard must be a shard number, got '${params.get('shard') ?? ''}'`, code: 'ERR_INVALID_ARGUMENT' })
      return true
    }
    const reply = (work: Promise<unknown>): true => {
      work.then(
        (body) => json(response, 200, body),
        (error: unknown) => json(response, 500, { error: String(error) }),
      )
      return true
    }
    switch (path) {
      case '/introspect/status':
        return reply(this.introspection.status())
      case '/introspect/tree': {
        const max = integerParam(params, 'max')
        if (max === 'invalid' || max === 0) {
          json(response, 400, { error: `max must be a positive integer, got '${params.get('max') ?? ''}'`, code: 'ERR_INVALID_ARGUMENT' })
          return true
        }
        return reply(this.introspection.tree(shard, max).then((shards) => ({ shards })))
      }
      case '/introspect/actor': {
        const actorPath = params.get('path') ?? ''
        if (actorPath === '') {
          json(response, 400, { error: 'path is required: /introspect/actor?path=/user/…', code: 'ERR_INVALID_ARGUMENT' })
          return true
        }
        this.introspection.actor(actorPath, shard).then(
          (actors) => (actors.length === 0 ? json(response, 404, { error: `no live actor at '${actorPath}'`, code: 'ERR_NO_SUCH_ACTOR' }) : json(response, 200, { actors })),
          (error: unknown) => json(response, 500, { error: String(error) }),
        )
        return true
      }
      case '/introspect/dead-letters':
        return reply(this.introspection.deadLetters().then((letters) => ({ letters })))
      case '/introspect/stream':
        this.stream(request, response, params, shard)
        return true
      default:
        json(response, 404, { error: 'not found', endpoints: this.endpoints })
        return true
    }
  }

  /**
   * Server-sent events: a `snapshot` event (status, trees, new dead letters) at once and then every
   * `interval` ms, the next one scheduled only after the last was written — a slow node or client
   * lowers the rate instead of piling up work. Nothing runs between requests but this timer.
   */
  private stream(request: IncomingMessage, response: ServerResponse, params: URLSearchParams, shard: number | undefined): void {
    const requested = integerParam(params, 'interval')
    if (requested === 'invalid') {
      json(response, 400, { error: `interval must be an integer (ms), got '${params.get('interval') ?? ''}'`, code: 'ERR_INVALID_ARGUMENT' })
      return
    }
    if (this.streams.size >= MAX_STREAMS) {
      json(response, 503, { error: `too many live streams (${MAX_STREAMS})` })
      return
    }
    const interval = Math.min(STREAM_INTERVAL.max, Math.max(STREAM_INTERVAL.min, requested ?? STREAM_INTERVAL.default))
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    response.write(`retry: 2000\n\n`)
    const cursors: Record<number, number> = {}
    let timer: TimerHandle | null = null
    let open = true
    const stop = (): void => {
      open = false
      if (timer !== null) this.clock.clearTimer(timer)
      timer = null
      this.streams.delete(stop)
      if (!response.writableEnded) response.end()
    }
    this.streams.add(stop)
    request.on('close', stop)
    const tick = async (): Promise<void> => {
      timer = null
      try {
        const [status, shards, letters] = await Promise.all([this.introspection.status(), this.introspection.tree(shard), this.introspection.deadLetters(cursors)])
        for (const letter of letters) cursors[letter.shard] = Math.max(cursors[letter.shard] ?? 0, letter.seq)
        if (!open) return
        response.write(`event: snapshot\ndata: ${JSON.stringify({ status, shards, deadLetters: letters })}\n\n`)
      } catch (error) {
        if (!open) return
        response.write(`event: failure\ndata: ${JSON.stringify({ error: String(error) })}\n\n`)
      }
      if (open) timer = this.clock.setTimer(interval, () => void tick())
    }
    void tick()
  }

  /** Ends every live stream (the server is closing). */
  close(): void {
    for (const stop of [...this.streams]) stop()
  }
}
