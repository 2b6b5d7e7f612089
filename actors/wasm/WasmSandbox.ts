import { Actor } from '../../runtime/index.ts'
import { WasmBadCallError, WasmImportDeniedError, WasmUnknownModuleError, WasmWorkerLostError } from './errors.ts'
import type { GuestExecutor } from './GuestExecutor.ts'
import { InlineExecutor } from './InlineExecutor.ts'
import { checkImports, moduleInfo, type LoadOptions, type ModuleInfo } from './ModuleStore.ts'
import { TenantKv } from './TenantKv.ts'
import type { WasmAccounting } from './WasmAccounting.ts'
import { resolveCall, resolveSandboxOptions, type ResolvedSandboxOptions, type WasmCallRequest, type WasmSandboxOptions } from './WasmSandboxOptions.ts'
import type { RunRequest, WasmCallResult } from './WasmTypes.ts'
import { WorkerExecutor } from './WorkerExecutor.ts'

export interface WasmSandboxProtocol {
  /** Validates, instruments and compiles a module (once per content hash); rejects with a typed error. */
  load(bytes: Uint8Array, options?: LoadOptions): Promise<ModuleInfo>
  /** Runs one exported function on a fresh instance; traps come back as `{ ok: false, trap }`. */
  call(request: WasmCallRequest): Promise<WasmCallResult>
  /** Kills the current worker from outside, as a crash would (tests, chaos drills). */
  killWorker(): Promise<void>
  /** Internal: the worker of generation `generation` was lost; fails this actor so its supervisor decides. */
  workerLost(generation: number, error: Error): void
}

const REFUSALS = { ERR_WASM_BAD_CALL: WasmBadCallError, ERR_WASM_IMPORT_DENIED: WasmImportDeniedError, ERR_WASM_UNKNOWN_MODULE: WasmUnknownModuleError } as const

/**
 * Runs untrusted WebAssembly: one call at a time (the mailbox serializes), each on a fresh instance
 * in this sandbox's worker thread. A trapped guest leaves the sandbox healthy; a deadline kills the
 * worker and the sandbox starts a new one at once; a worker that dies otherwise fails the actor, so
 * its supervisor restarts it (with the backoff of its child spec) on a brand-new worker — no guest
 * state survives either way.
 */
export class WasmSandbox extends Actor<WasmSandboxProtocol> {
  private readonly options: WasmSandboxOptions
  private readonly settings: ResolvedSandboxOptions
  private readonly accounting: WasmAccounting | null
  private readonly kv: TenantKv
  private executor: GuestExecutor | null = null
  private generation = 0

  constructor(options: WasmSandboxOptions) {
    super()
    this.options = options
    this.settings = resolveSandboxOptions(options)
    this.accounting = options.accounting ?? null
    this.kv = options.kv ?? new TenantKv()
  }

  override preStart(): void {
    this.executor = this.newExecutor()
  }

  override async postStop(): Promise<void> {
    const executor = this.executor
    this.executor = null
    this.generation++
    if (executor !== null) await executor.close()
  }

  private newExecutor(): GuestExecutor {
    const clock = this.context.system.clock
    if (this.settings.executor === 'inline') return new InlineExecutor(clock, this.settings.virtualFuelPerMs)
    const generation = ++this.generation
    return new WorkerExecutor(clock, this.settings.resourceLimits, (error) => this.self.tell('workerLost', generation, error))
  }

  async load(bytes: Uint8Array, options?: LoadOptions): Promise<ModuleInfo> {
    return moduleInfo(await this.options.store.load(bytes, options))
  }

  async call(request: WasmCallRequest): Promise<WasmCallResult> {
    const { fuel, deadlineMs, tenant } = resolveCall(request, this.settings)
    const loaded = this.options.store.get(request.hash)
    const grants = request.grants ?? loaded.grants
    // The allow-list is checked here, before the guest's thread ever instantiates the module.
    checkImports(loaded.imports, grants)
    if (this.executor === null || !this.executor.alive) this.replaceExecutor('lost')
    const run: RunRequest = {
      hash: loaded.hash,
      exportName: request.export,
      args: request.args ?? [],
      fuel,
      grants,
      kv: grants.includes('kv') ? this.kv.entries(tenant) : null,
      limits: this.settings.guestLimits,
    }
    const executed = await (this.executor as GuestExecutor).run(loaded, run, deadlineMs)
    let result: WasmCallResult
    switch (executed.kind) {
      case 'ran': {
        const outcome = executed.outcome
        if (outcome.refused) throw new REFUSALS[outcome.code](outcome.message, { data: { hash: loaded.hash, export: request.export } })
        result = outcome.result
        if (result.ok) this.kv.commit(tenant, outcome.kvWrites)
        break
      }
      case 'deadline':
        // The worker was terminated mid-call: what it consumed is unknowable, so the whole budget is charged.
        result = { ok: false, trap: 'deadline', message: `deadline of ${deadlineMs} ms reached; worker terminated`, fuelUsed: fuel, durationMs: executed.durationMs, memoryBytes: 0, logs: [] }
        this.replaceExecutor('deadline')
        break
      case 'lost':
        result = { ok: false, trap: executed.memory ? 'memory' : 'crash', message: executed.error.message, fuelUsed: fuel, durationMs: executed.durationMs, memoryBytes: 0, logs: [] }
        break
    }
    this.accounting?.record(tenant, result)
    return result
  }

  private replaceExecutor(reason: 'deadline' | 'lost'): void {
    this.accounting?.workerReplaced(reason)
    this.executor = this.newExecutor()
  }

  async killWorker(): Promise<void> {
    if (this.executor instanceof WorkerExecutor) await this.executor.kill()
  }

  workerLost(generation: number, error: Error): void {
    if (generation !== this.generation) return // an executor this sandbox already replaced
    this.accounting?.workerReplaced('lost')
    throw error instanceof WasmWorkerLostError ? error : new WasmWorkerLostError(error.message, { cause: error })
  }
}
