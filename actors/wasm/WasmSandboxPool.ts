import type { Registry } from 'prom-client'
import type { ActorRef, ActorSystem, Subscription } from '../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type BackoffOptions, type SupervisorProtocol } from '../../supervision/index.ts'
import { WasmBadOptionsError, WasmWorkerLostError } from './errors.ts'
import { ModuleStore, moduleInfo, type LoadOptions, type ModuleInfo, type ModuleStoreOptions } from './ModuleStore.ts'
import { TenantKv } from './TenantKv.ts'
import { WasmAccounting, type TenantUsage } from './WasmAccounting.ts'
import { WasmSandbox, type WasmSandboxProtocol } from './WasmSandbox.ts'
import { resolveSandboxOptions, type WasmCallRequest, type WasmSandboxOptions } from './WasmSandboxOptions.ts'
import type { WasmCallResult } from './WasmTypes.ts'

export interface WasmSandboxPoolOptions extends Omit<WasmSandboxOptions, 'store' | 'accounting' | 'kv'> {
  /** Supervisor name (also the path prefix of the sandboxes). Default `wasm-sandboxes`. */
  readonly name?: string
  /** Number of sandboxes (worker threads). Default 2. */
  readonly size?: number
  /** Share a store between pools, or give store options. */
  readonly store?: ModuleStore | ModuleStoreOptions
  /** Metrics registry (prom-client, never the global one) for per-tenant accounting. */
  readonly registry?: Registry
  readonly kv?: TenantKv
  /** Restart backoff of a sandbox whose worker died. Default 50 ms .. 5 s, 20 % jitter. */
  readonly backoff?: BackoffOptions
  /** Ask timeout of a call: its deadline plus this much for queueing behind other calls and worker start. Default 35 000 ms. */
  readonly callSlackMs?: number
  /** Restart budget: more than `intensity` restarts within `periodMs` and the supervisor gives up. Default 20 in 10 000 ms. */
  readonly intensity?: number
  readonly periodMs?: number
}

/**
 * A pool of `WasmSandbox` actors under one one_for_one `Supervisor` (backoff on restarts). Calls go
 * to the running sandbox with the fewest calls in flight; module compilation is shared through one
 * `ModuleStore`, accounting through one `WasmAccounting`. A sandbox being restarted receives no
 * calls; if none is running, a call waits for the first restart (within its ask timeout).
 */
export class WasmSandboxPool {
  readonly store: ModuleStore
  readonly accounting: WasmAccounting
  readonly kv: TenantKv
  readonly supervisor: ActorRef<SupervisorProtocol>
  private readonly system: ActorSystem
  private readonly ids: readonly string[]
  private readonly refs = new Map<string, ActorRef<WasmSandboxProtocol> | null>()
  private readonly inFlight = new Map<string, number>()
  private readonly waiters: Array<() => void> = []
  private readonly subscription: Subscription
  private readonly callSlackMs: number
  private readonly defaultDeadlineMs: number

  private constructor(system: ActorSystem, options: WasmSandboxPoolOptions) {
    this.system = system
    const size = options.size ?? 2
    if (!Number.isSafeInteger(size) || size < 1 || size > 256) throw new WasmBadOptionsError(`size must be an integer in [1, 256], got ${String(size)}`)
    this.store = options.store instanceof ModuleStore ? options.store : new ModuleStore(options.store)
    this.accounting = new WasmAccounting(options.registry)
    this.kv = options.kv ?? new TenantKv()
    const sandbox: WasmSandboxOptions = { ...options, store: this.store, accounting: this.accounting, kv: this.kv }
    // Checked here, once, rather than in every child's start.
    this.defaultDeadlineMs = resolveSandboxOptions(sandbox).defaultDeadlineMs
    this.callSlackMs = options.callSlackMs ?? 35_000
    if (!(this.callSlackMs >= 0) || !Number.isFinite(this.callSlackMs)) throw new WasmBadOptionsError(`callSlackMs must be a finite number >= 0, got ${String(this.callSlackMs)}`)
    this.ids = Array.from({ length: size }, (_, i) => `sandbox-${i}`)
    for (const id of this.ids) this.inFlight.set(id, 0)
    const backoff = options.backoff ?? { minMs: 50, maxMs: 5000, randomFactor: 0.2 }
    this.supervisor = system.spawn(Supervisor, {
      name: options.name ?? 'wasm-sandboxes',
      args: [{
        strategy: 'one_for_one',
        intensity: options.intensity ?? 20,
        periodMs: options.periodMs ?? 10_000,
        children: this.ids.map((id) => childSpec({ id, actor: WasmSandbox, args: [sandbox], backoff, shutdown: 5000 })),
      }],
    })
    this.subscription = system.eventStream.subscribe(SupervisorEventTopic, (event) => {
      if (event.supervisor !== this.supervisor || !this.refs.has(event.childId)) return
      if (event.type === 'child-started' || event.type === 'child-restarted') {
        this.refs.set(event.childId, event.child)
        for (const wake of this.waiters.splice(0)) wake()
      } else if (event.type === 'restart-scheduled' || event.type === 'child-stopped' || event.type === 'gave-up') {
        this.refs.set(event.childId, null)
      }
    })
    for (const id of this.ids) this.refs.set(id, null)
  }

  static async start(system: ActorSystem, options: WasmSandboxPoolOptions = {}): Promise<WasmSandboxPool> {
    const pool = new WasmSandboxPool(system, options)
    for (const child of await pool.supervisor.ask('whichChildren')) {
      if (pool.refs.has(child.id)) pool.refs.set(child.id, child.ref as ActorRef<WasmSandboxProtocol> | null)
    }
    return pool
  }

  load(bytes: Uint8Array, options?: LoadOptions): Promise<ModuleInfo> {
    return this.store.load(bytes, options).then(moduleInfo)
  }

  async call(request: WasmCallRequest): Promise<WasmCallResult> {
    const timeoutMs = (typeof request?.deadlineMs === 'number' ? request.deadlineMs : this.defaultDeadlineMs) + this.callSlackMs
    const deadline = this.system.clock.now() + timeoutMs
    for (;;) {
      const id = this.pick()
      if (id === null) {
        await this.waitForSandbox(deadline)
        continue
      }
      const ref = this.refs.get(id) as ActorRef<WasmSandboxProtocol>
      this.inFlight.set(id, (this.inFlight.get(id) ?? 0) + 1)
      try {
        return await ref.askWith({ timeoutMs }, 'call', request)
      } finally {
        this.inFlight.set(id, (this.inFlight.get(id) ?? 1) - 1)
      }
    }
  }

  /** The running sandbox with the fewest calls in flight (first in order on ties), or null. */
  private pick(): string | null {
    let best: string | null = null
    let bestLoad = Infinity
    for (const id of this.ids) {
      if (this.refs.get(id) == null) continue
      const load = this.inFlight.get(id) ?? 0
      if (load < bestLoad) {
        best = id
        bestLoad = load
      }
    }
    return best
  }

  private waitForSandbox(deadline: number): Promise<void> {
    const clock = this.system.clock
    const left = deadline - clock.now()
    if (left <= 0) return Promise.reject(new WasmWorkerLostError('no sandbox running in the pool before the call timed out'))
    return new Promise((resolve, reject) => {
      const timer = clock.setTimer(left, () => reject(new WasmWorkerLostError('no sandbox running in the pool before the call timed out')))
      this.waiters.push(() => {
        clock.clearTimer(timer)
        resolve()
      })
    })
  }

  usage(tenant: string): TenantUsage {
    return this.accounting.tenant(tenant)
  }

  /** The sandboxes' current refs by child id (null while one is restarting). */
  sandboxes(): ReadonlyMap<string, ActorRef<WasmSandboxProtocol> | null> {
    return this.refs
  }

  async stop(): Promise<void> {
    this.subscription.unsubscribe()
    await this.system.stop(this.supervisor)
  }
}
