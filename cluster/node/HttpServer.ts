import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Registry } from 'prom-client'

/** What the probes report. */
export interface Probes {
  /** The process is up and its event loop answers. */
  alive(): boolean
  /** The app has started (and NATS is connected when configured); reasons when not. */
  ready(): { ok: boolean; reasons: string[] }
  /** Startup has finished (successfully). */
  started(): boolean
}

/** More routes on the same server (the introspection API and the dashboard). */
export interface HttpRoutes {
  /** Handles the request when it is one of its own; false lets the server go on. */
  handle(request: IncomingMessage, response: ServerResponse, path: string, params: URLSearchParams): boolean
  readonly endpoints: readonly string[]
  /** The server is closing (end live streams). */
  close(): void
  /** Checks request methods itself (it takes POSTs): asked before the server's GET-only rule. */
  readonly ownMethods?: boolean
}

/**
 * The node's HTTP endpoint: `/healthz` (liveness), `/readyz` (readiness), `/startupz` (startup),
 * `/metrics` (Prometheus text format from the node's registry), plus the `routes` given (introspection,
 * dashboard). Anything else is 404.
 */
export class HttpServer {
  private readonly server: Server
  private readonly probes: Probes
  private readonly registry: Registry
  private readonly exposition: () => Promise<string>
  private readonly routes: readonly HttpRoutes[]

  /** `exposition`: the `/metrics` text when it is more than the registry's (a sharded node adds its workers'). */
  constructor(probes: Probes, registry: Registry, exposition?: () => Promise<string>, routes?: HttpRoutes | readonly HttpRoutes[]) {
    this.probes = probes
    this.routes = routes === undefined ? [] : Array.isArray(routes) ? routes : [routes as HttpRoutes]
    this.registry = registry
    this.exposition = exposition ?? (() => registry.metrics())
    this.server = createServer((request, response) => {
      const [path = '/', search = ''] = (request.url ?? '/').split('?', 2)
      const json = (status: number, body: unknown): void => {
        response.writeHead(status, { 'content-type': 'application/json' })
        response.end(JSON.stringify(body))
      }
      const params = new URLSearchParams(search)
      for (const r of this.routes) if (r.ownMethods === true && r.handle(request, response, path, params)) return
      if (request.method !== 'GET' && request.method !== 'HEAD') return json(405, { error: 'method not allowed' })
      for (const r of this.routes) if (r.ownMethods !== true && r.handle(request, response, path, params)) return
      switch (path) {
        case '/healthz':
          return json(this.probes.alive() ? 200 : 503, { status: this.probes.alive() ? 'ok' : 'down' })
        case '/readyz': {
          const { ok, reasons } = this.probes.ready()
          return json(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', reasons })
        }
        case '/startupz':
          return json(this.probes.started() ? 200 : 503, { status: this.probes.started() ? 'started' : 'starting' })
        case '/metrics':
          this.exposition().then(
            (text) => {
              response.writeHead(200, { 'content-type': this.registry.contentType })
              response.end(text)
            },
            (error: unknown) => json(500, { error: String(error) }),
          )
          return
        default:
          return json(404, { error: 'not found', endpoints: ['/healthz', '/readyz', '/startupz', '/metrics', ...this.routes.flatMap((r) => r.endpoints)] })
      }
    })
  }

  /** Listens; resolves with the bound port (use port 0 for a free one). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        const address = this.server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : port)
      })
    })
  }

  close(): Promise<void> {
    for (const r of this.routes) r.close()
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }
}
