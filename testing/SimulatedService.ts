import { InvalidArgumentError, SeededRandom, toError } from '../runtime/index.ts'
import { ServiceTimeoutError, ServiceUnavailableError } from './errors.ts'
import { deriveSeed } from './seeds.ts'
import type { SimProcess } from './SimProcess.ts'
import type { Simulation } from './Simulation.ts'
import { TraceKind } from './Trace.ts'

/** What can go wrong with one call. */
export type ServiceFault =
  /** Refused: not applied; the call rejects with ERR_SIM_SERVICE_UNAVAILABLE after the latency. */
  | { readonly kind: 'fail' }
  /** Lost on the way in: not applied; the call rejects with ERR_SIM_SERVICE_TIMEOUT after `timeoutMs`. */
  | { readonly kind: 'timeout' }
  /** Applied, reply lost: the call rejects with ERR_SIM_SERVICE_TIMEOUT after `timeoutMs`, yet it took effect. */
  | { readonly kind: 'ambiguous' }
  /** Applied and answered, `ms` late (a GC pause, a lock wait, a slow disk on the server). */
  | { readonly kind: 'stall'; readonly ms: number }

/** Which calls fail and how. Every probability is per call, drawn from the service's seeded stream. */
export interface ServiceFaultPlan {
  /** Faults for given calls, by 1-based call number across every method (`{ 3: { kind: 'ambiguous' } }`). */
  readonly calls?: Readonly<Record<number, ServiceFault>>
  readonly failRate?: number
  readonly timeoutRate?: number
  readonly ambiguousRate?: number
  readonly stallRate?: number
  /** Extra delay of a drawn stall. Default 500. */
  readonly stallMs?: number
}

export interface SimulatedServiceOptions {
  /** Names the service in traces. */
  readonly name: string
  /** One-way latency (a call takes two). Default 1–3 ms. */
  readonly latency?: { readonly minMs: number; readonly maxMs: number }
  /** When a call without a reply rejects (the client's timeout). Default 1000. */
  readonly timeoutMs?: number
  readonly faults?: ServiceFaultPlan
  /** The caller's process: replies to a crashed or paused caller are dropped or wait. Default none. */
  readonly process?: SimProcess
}

/** One call, as the service saw it. */
export interface ServiceCall {
  readonly n: number
  readonly method: string
  readonly args: readonly unknown[]
  readonly fault: ServiceFault | null
  /** Whether the in-memory implementation ran it (true for ambiguous and stalled calls too). */
  applied: boolean
}

/** The port as a client sees it: every method answers with a promise. */
export type AsyncPort<Port> = {
  readonly [K in keyof Port]: Port[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never
}

/**
 * The generic simulated twin of a service port (Redis, PostgreSQL, Kafka, a WASM host, NATS): it
 * wraps an in-memory implementation of the port and puts every call on the simulation's clock,
 * with a seeded latency and a fault plan — fail the n-th call, time out, apply but lose the reply
 * (the ambiguous result a retry must be idempotent against), stall. `client` is what the code
 * under test calls; `calls` is what happened, for assertions.
 */
export class SimulatedService<Port extends object> {
  readonly name: string
  readonly client: AsyncPort<Port>
  readonly calls: ServiceCall[] = []
  private readonly sim: Simulation
  private readonly impl: Port
  private readonly random: SeededRandom
  private readonly minMs: number
  private readonly spanMs: number
  private readonly timeoutMs: number
  private readonly plan: ServiceFaultPlan
  private readonly scripted = new Map<number, ServiceFault>()
  private readonly queued: ServiceFault[] = []
  private readonly process: SimProcess | null

  constructor(sim: Simulation, impl: Port, options: SimulatedServiceOptions) {
    this.sim = sim
    this.impl = impl
    this.name = options.name
    let h = 0
    for (let i = 0; i < this.name.length; i++) h = (Math.imul(h, 31) + this.name.charCodeAt(i)) | 0
    this.random = new SeededRandom(deriveSeed(sim.seed, 0x5e7c0000 ^ h))
    const latency = options.latency ?? { minMs: 1, maxMs: 3 }
    if (!(latency.minMs >= 0 && latency.maxMs >= latency.minMs)) throw new InvalidArgumentError(`latency needs 0 <= minMs <= maxMs, got ${latency.minMs}..${latency.maxMs}`)
    this.minMs = latency.minMs
    this.spanMs = latency.maxMs - latency.minMs
    this.timeoutMs = options.timeoutMs ?? 1000
    this.plan = options.faults ?? {}
    for (const [n, fault] of Object.entries(this.plan.calls ?? {})) this.scripted.set(Number(n), fault)
    this.process = options.process ?? null
    this.client = new Proxy({} as AsyncPort<Port>, {
      get: (_target, method) => (typeof method === 'string' ? (...args: unknown[]) => this.call(method, args) : undefined),
    })
  }

  /** The next call (whichever method) gets `fault`; queued faults apply in order. */
  failNext(fault: ServiceFault): void {
    this.queued.push(fault)
  }

  /** How many calls the implementation applied (ambiguous ones included). */
  get applied(): number {
    return this.calls.filter((c) => c.applied).length
  }

  private call(method: string, args: unknown[]): Promise<unknown> {
    const fn = (this.impl as Record<string, unknown>)[method]
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError(`${this.name} has no method ${method}`))
    const n = this.calls.length + 1
    const fault = this.scripted.get(n) ?? this.queued.shift() ?? this.draw()
    const call: ServiceCall = { n, method, args, fault, applied: false }
    this.calls.push(call)
    const sim = this.sim
    const now = sim.now
    const there = this.latency()
    const back = this.latency()
    sim.record(TraceKind.Scheduled, this.process, `${this.name}.${method} #${n}${fault === null ? '' : ` (${fault.kind})`}`, n)
    return new Promise((resolve, reject) => {
      const reply = (at: number, settle: () => void): void => {
        sim.scheduleEvent(at, settle, this.process, false, TraceKind.Scheduled, `${this.name}.${method} #${n} reply`)
      }
      const apply = (at: number, then: (result: unknown, error: Error | null) => void): void => {
        sim.scheduleEvent(at, () => {
          call.applied = true
          let result: unknown
          try {
            result = (fn as (...a: unknown[]) => unknown).apply(this.impl, args)
          } catch (error) {
            then(undefined, toError(error))
            return
          }
          then(result, null)
        }, null, false, TraceKind.Scheduled, `${this.name}.${method} #${n} applied`)
      }
      const timedOut = (): void => reject(new ServiceTimeoutError(`${this.name}.${method} (call ${n}) got no reply within ${this.timeoutMs} ms; it may have been applied`, { data: { service: this.name, method, call: n } }))
      switch (fault?.kind) {
        case 'fail':
          reply(now + there + back, () => reject(new ServiceUnavailableError(`${this.name}.${method} (call ${n}) failed; not applied`, { data: { service: this.name, method, call: n } })))
          return
        case 'timeout':
          reply(now + this.timeoutMs, timedOut)
          return
        case 'ambiguous':
          apply(now + there, () => {})
          reply(now + this.timeoutMs, timedOut)
          return
        default: {
          const stall = fault?.kind === 'stall' ? fault.ms : 0
          apply(now + there + stall, (result, error) => reply(sim.now + back, () => (error === null ? resolve(result) : reject(error))))
        }
      }
    })
  }

  private draw(): ServiceFault | null {
    const plan = this.plan
    const r = this.random
    if (plan.failRate !== undefined && r.next() < plan.failRate) return { kind: 'fail' }
    if (plan.timeoutRate !== undefined && r.next() < plan.timeoutRate) return { kind: 'timeout' }
    if (plan.ambiguousRate !== undefined && r.next() < plan.ambiguousRate) return { kind: 'ambiguous' }
    if (plan.stallRate !== undefined && r.next() < plan.stallRate) return { kind: 'stall', ms: plan.stallMs ?? 500 }
    return null
  }

  private latency(): number {
    return Math.round(this.minMs + this.random.next() * this.spanMs)
  }
}
