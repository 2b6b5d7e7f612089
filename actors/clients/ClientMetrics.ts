import { Counter, Gauge, type Registry } from 'prom-client'
import type { ClientSupport } from './ClientSupport.ts'

/** What a client actor shows at scrape time. Redis: one connection (`total` 1 when connected), no waiters. */
export interface ClientSource {
  readonly support: ClientSupport
  connections(): { total: number; idle: number; waiting: number }
}

/**
 * The client actors' metrics on a caller-supplied registry (one set per registry, shared by its
 * clients), read at scrape time from the pools and plain counters:
 * `troupe_client_connections{kind,name,state=total|idle}`, `troupe_client_waiting{kind,name}`,
 * `troupe_client_healthy{kind,name}`, `troupe_client_calls_total{kind,name,outcome=ok|failed|rejected}`,
 * `troupe_client_health_checks_total{kind,name,outcome=ok|failed}`.
 */
export class ClientMetrics {
  private readonly sources = new Set<ClientSource>()
  private static readonly byRegistry = new WeakMap<Registry, ClientMetrics>()

  static of(registry: Registry): ClientMetrics {
    let metrics = ClientMetrics.byRegistry.get(registry)
    if (metrics === undefined) {
      metrics = new ClientMetrics(registry)
      ClientMetrics.byRegistry.set(registry, metrics)
    }
    return metrics
  }

  private constructor(registry: Registry) {
    const registers = [registry]
    const labels = (s: ClientSource): { kind: string; name: string } => ({ kind: s.support.kind, name: s.support.options.name })
    const connections: Gauge<'kind' | 'name' | 'state'> = new Gauge({
      name: 'troupe_client_connections',
      help: 'Connections a PgPool or RedisClient holds: total, and idle (checked in).',
      labelNames: ['kind', 'name', 'state'],
      registers,
      collect: () => {
        connections.reset()
        for (const s of this.sources) {
          const c = s.connections()
          connections.set({ ...labels(s), state: 'total' }, c.total)
          connections.set({ ...labels(s), state: 'idle' }, c.idle)
        }
      },
    })
    const waiting: Gauge<'kind' | 'name'> = new Gauge({
      name: 'troupe_client_waiting',
      help: 'Calls waiting for a pooled connection.',
      labelNames: ['kind', 'name'],
      registers,
      collect: () => {
        waiting.reset()
        for (const s of this.sources) waiting.set(labels(s), s.connections().waiting)
      },
    })
    const healthy: Gauge<'kind' | 'name'> = new Gauge({
      name: 'troupe_client_healthy',
      help: '1 when the client is healthy (health checks with hysteresis), 0 when starting or unhealthy.',
      labelNames: ['kind', 'name'],
      registers,
      collect: () => {
        healthy.reset()
        for (const s of this.sources) healthy.set(labels(s), s.support.health.status === 'healthy' ? 1 : 0)
      },
    })
    const calls: Counter<'kind' | 'name' | 'outcome'> = new Counter({
      name: 'troupe_client_calls_total',
      help: 'Calls through a client actor by outcome: ok, failed (a typed error), rejected (breaker open).',
      labelNames: ['kind', 'name', 'outcome'],
      registers,
      collect: () => {
        calls.reset()
        for (const s of this.sources) {
          const c = s.support.counters
          calls.inc({ ...labels(s), outcome: 'ok' }, c.ok)
          calls.inc({ ...labels(s), outcome: 'failed' }, c.failed)
          calls.inc({ ...labels(s), outcome: 'rejected' }, c.rejected)
        }
      },
    })
    const checks: Counter<'kind' | 'name' | 'outcome'> = new Counter({
      name: 'troupe_client_health_checks_total',
      help: 'Health checks by outcome: ok, failed (including timed out).',
      labelNames: ['kind', 'name', 'outcome'],
      registers,
      collect: () => {
        checks.reset()
        for (const s of this.sources) {
          checks.inc({ ...labels(s), outcome: 'ok' }, s.support.counters.checksOk)
          checks.inc({ ...labels(s), outcome: 'failed' }, s.support.counters.checksFailed)
        }
      },
    })
  }

  /** Reads `source` at every scrape until the returned function is called. */
  add(source: ClientSource): () => void {
    this.sources.add(source)
    return () => {
      this.sources.delete(source)
    }
  }
}
