import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { WasmCallResult } from './WasmTypes.ts'

/** One tenant's totals since the accounting was created. */
export interface TenantUsage {
  readonly calls: number
  readonly traps: Readonly<Record<string, number>>
  readonly fuelUsed: number
  readonly durationMs: number
  /** Largest linear memory any of the tenant's calls ended with, in bytes. */
  readonly memoryHighWater: number
}

interface MutableUsage {
  calls: number
  traps: Record<string, number>
  fuelUsed: number
  durationMs: number
  memoryHighWater: number
}

/**
 * Per-tenant resource accounting (fuel, time, memory high-water, outcomes), kept as totals for the
 * caller and, when given a prom-client Registry (never the global one), as `troupe_wasm_*` metrics
 * labelled by tenant. Tenants are the caller's bounded set (customers, plugins), not call ids.
 */
export class WasmAccounting {
  private readonly usage = new Map<string, MutableUsage>()
  private readonly metrics: {
    readonly calls: Counter<'tenant' | 'outcome'>
    readonly fuel: Counter<'tenant'>
    readonly duration: Histogram<'tenant'>
    readonly memory: Gauge<'tenant'>
    readonly restarts: Counter<'reason'>
  } | null

  constructor(registry?: Registry) {
    this.metrics =
      registry === undefined
        ? null
        : {
            calls: new Counter({ name: 'troupe_wasm_calls_total', help: 'Sandboxed WASM calls by tenant and outcome (ok or the trap kind)', labelNames: ['tenant', 'outcome'], registers: [registry] }),
            fuel: new Counter({ name: 'troupe_wasm_fuel_consumed_total', help: 'Fuel consumed by sandboxed WASM calls', labelNames: ['tenant'], registers: [registry] }),
            duration: new Histogram({
              name: 'troupe_wasm_call_duration_seconds',
              help: 'Duration of sandboxed WASM calls (virtual time under the simulator)',
              labelNames: ['tenant'],
              buckets: [0.0001, 0.001, 0.01, 0.1, 1, 10],
              registers: [registry],
            }),
            memory: new Gauge({ name: 'troupe_wasm_memory_high_water_bytes', help: 'Largest guest linear memory seen per tenant', labelNames: ['tenant'], registers: [registry] }),
            restarts: new Counter({ name: 'troupe_wasm_worker_restarts_total', help: 'Sandbox workers replaced, by reason (deadline, lost)', labelNames: ['reason'], registers: [registry] }),
          }
  }

  record(tenant: string, result: WasmCallResult): void {
    let u = this.usage.get(tenant)
    if (u === undefined) {
      u = { calls: 0, traps: {}, fuelUsed: 0, durationMs: 0, memoryHighWater: 0 }
      this.usage.set(tenant, u)
    }
    u.calls++
    u.fuelUsed += result.fuelUsed
    u.durationMs += result.durationMs
    if (!result.ok) u.traps[result.trap] = (u.traps[result.trap] ?? 0) + 1
    const raised = result.memoryBytes > u.memoryHighWater
    if (raised) u.memoryHighWater = result.memoryBytes
    const m = this.metrics
    if (m === null) return
    m.calls.inc({ tenant, outcome: result.ok ? 'ok' : result.trap })
    if (result.fuelUsed > 0) m.fuel.inc({ tenant }, result.fuelUsed)
    m.duration.observe({ tenant }, result.durationMs / 1000)
    if (raised) m.memory.set({ tenant }, u.memoryHighWater)
  }

  workerReplaced(reason: 'deadline' | 'lost'): void {
    this.metrics?.restarts.inc({ reason })
  }

  tenant(tenant: string): TenantUsage {
    const u = this.usage.get(tenant)
    return u === undefined ? { calls: 0, traps: {}, fuelUsed: 0, durationMs: 0, memoryHighWater: 0 } : { ...u, traps: { ...u.traps } }
  }

  tenants(): string[] {
    return [...this.usage.keys()]
  }
}
