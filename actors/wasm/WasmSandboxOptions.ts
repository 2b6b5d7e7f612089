import type { ResourceLimits } from 'node:worker_threads'
import { WasmBadCallError, WasmBadOptionsError } from './errors.ts'
import type { ModuleStore } from './ModuleStore.ts'
import type { TenantKv } from './TenantKv.ts'
import type { WasmAccounting } from './WasmAccounting.ts'
import type { Capability, GuestLimits, WasmValue } from './WasmTypes.ts'

export interface WasmSandboxOptions {
  /** Where modules are validated, instrumented and compiled (share one across a pool). */
  readonly store: ModuleStore
  readonly accounting?: WasmAccounting
  /** The `kv` capability's per-tenant store. Default: a store private to this sandbox. */
  readonly kv?: TenantKv
  /** `worker` (default): a worker thread, wall-clock deadlines. `inline`: for the simulator, virtual time. */
  readonly executor?: 'worker' | 'inline'
  /** Fuel for a call that names none. Default 10 000 000. */
  readonly defaultFuel?: number
  /** Largest fuel a call may ask for. Default 10^12. */
  readonly maxFuel?: number
  /** Deadline for a call that names none, ms. Default 1000. */
  readonly defaultDeadlineMs?: number
  /** Largest deadline a call may ask for, ms. Default 60 000. */
  readonly maxDeadlineMs?: number
  /** The worker's heap limits. Default 64 MiB old generation, 16 MiB young, 4 MiB stack. */
  readonly resourceLimits?: ResourceLimits
  /** Inline executor only: fuel per virtual millisecond. Default 10^6 (one fuel ≈ 1 ns). */
  readonly virtualFuelPerMs?: number
  readonly guestLimits?: Partial<GuestLimits>
}

export interface WasmCallRequest {
  /** The hash `load` returned. */
  readonly hash: string
  readonly export: string
  readonly args?: readonly WasmValue[]
  readonly fuel?: number
  readonly deadlineMs?: number
  /** Capabilities for this call; default the module's. Imports outside them fail before instantiation. */
  readonly grants?: readonly Capability[]
  /** Whose account the call is charged to and whose `kv` it sees. Default `default`. */
  readonly tenant?: string
}

export const DEFAULT_GUEST_LIMITS: GuestLimits = {
  hostCallFuel: 100,
  maxLogLines: 100,
  maxLogBytes: 16 * 1024,
  maxKvEntries: 1000,
  maxKvKeyBytes: 256,
  maxKvValueBytes: 64 * 1024,
}

export interface ResolvedSandboxOptions {
  readonly executor: 'worker' | 'inline'
  readonly defaultFuel: number
  readonly maxFuel: number
  readonly defaultDeadlineMs: number
  readonly maxDeadlineMs: number
  readonly resourceLimits: ResourceLimits
  readonly virtualFuelPerMs: number
  readonly guestLimits: GuestLimits
}

/** Checks every option and reports every problem at once. */
export function resolveSandboxOptions(options: WasmSandboxOptions): ResolvedSandboxOptions {
  const problems: string[] = []
  const positive = (name: string, value: number, integer: boolean): number => {
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value))) problems.push(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`)
    return value
  }
  if (options.executor !== undefined && options.executor !== 'worker' && options.executor !== 'inline') problems.push(`executor must be 'worker' or 'inline'`)
  const resolved: ResolvedSandboxOptions = {
    executor: options.executor ?? 'worker',
    defaultFuel: positive('defaultFuel', options.defaultFuel ?? 10_000_000, true),
    maxFuel: positive('maxFuel', options.maxFuel ?? 1e12, true),
    defaultDeadlineMs: positive('defaultDeadlineMs', options.defaultDeadlineMs ?? 1000, false),
    maxDeadlineMs: positive('maxDeadlineMs', options.maxDeadlineMs ?? 60_000, false),
    resourceLimits: options.resourceLimits ?? { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    virtualFuelPerMs: positive('virtualFuelPerMs', options.virtualFuelPerMs ?? 1e6, false),
    guestLimits: { ...DEFAULT_GUEST_LIMITS, ...options.guestLimits },
  }
  for (const [k, v] of Object.entries(resolved.guestLimits)) positive(`guestLimits.${k}`, v as number, true)
  if (resolved.defaultFuel > resolved.maxFuel) problems.push('defaultFuel exceeds maxFuel')
  if (resolved.defaultDeadlineMs > resolved.maxDeadlineMs) problems.push('defaultDeadlineMs exceeds maxDeadlineMs')
  if (resolved.executor === 'inline' && !options.store.instrument.metering) problems.push('the inline executor needs a metering store: without fuel nothing stops a guest')
  if (problems.length > 0) throw new WasmBadOptionsError(`invalid sandbox options: ${problems.join('; ')}`, { data: { problems } })
  return resolved
}

/** Checks one call's request against the sandbox's bounds; returns fuel and deadline to use. */
export function resolveCall(request: WasmCallRequest, o: ResolvedSandboxOptions): { fuel: number; deadlineMs: number; tenant: string } {
  const problems: string[] = []
  if (typeof request !== 'object' || request === null) throw new WasmBadCallError('a call request must be an object')
  if (typeof request.hash !== 'string') problems.push('hash must be a string')
  if (typeof request.export !== 'string' || request.export.length === 0) problems.push('export must be a non-empty string')
  const fuel = request.fuel ?? o.defaultFuel
  if (!Number.isSafeInteger(fuel) || fuel <= 0 || fuel > o.maxFuel) problems.push(`fuel must be an integer in [1, ${o.maxFuel}], got ${String(fuel)}`)
  const deadlineMs = request.deadlineMs ?? o.defaultDeadlineMs
  if (typeof deadlineMs !== 'number' || !(deadlineMs > 0) || deadlineMs > o.maxDeadlineMs) problems.push(`deadlineMs must be in (0, ${o.maxDeadlineMs}], got ${String(deadlineMs)}`)
  const args = request.args ?? []
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'number' && typeof a !== 'bigint')) problems.push('args must be an array of numbers and bigints')
  const tenant = request.tenant ?? 'default'
  if (typeof tenant !== 'string' || tenant.length === 0 || tenant.length > 128) problems.push('tenant must be a string of 1 to 128 characters')
  if (problems.length > 0) throw new WasmBadCallError(`invalid call: ${problems.join('; ')}`, { data: { problems } })
  return { fuel, deadlineMs, tenant }
}
