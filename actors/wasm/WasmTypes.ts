/** Values a call passes and returns: i32/f32/f64 as numbers, i64 as bigint. */
export type WasmValue = number | bigint

/**
 * Why a call stopped early. `fuel`: the budget ran out; `deadline`: wall-clock (or virtual-time)
 * limit, the worker was terminated; `memory`: an access outside linear memory or a host-side memory
 * fault; `unreachable`: the guest's own `unreachable`; `stack`: call stack exhausted; `arithmetic`:
 * divide by zero, integer overflow, unrepresentable float conversion; `indirect`: bad
 * `call_indirect` (null entry, out of table, signature mismatch); `host`: a granted host function
 * refused (bad pointer, quota) or was used after its call ended; `crash`: the worker died under the call.
 */
export type TrapKind = 'fuel' | 'deadline' | 'memory' | 'unreachable' | 'stack' | 'arithmetic' | 'indirect' | 'host' | 'crash'

interface CallFigures {
  /** Fuel consumed, exactly: the budget minus what is left (the whole budget on a fuel or deadline trap). */
  readonly fuelUsed: number
  readonly durationMs: number
  /** Linear memory size at the end of the call, in bytes (0 without a memory). */
  readonly memoryBytes: number
  /** Lines the guest wrote through the `log` capability (bounded, see `maxLogLines`). */
  readonly logs: readonly string[]
}

export type WasmCallResult =
  | (CallFigures & { readonly ok: true; readonly value: WasmValue | readonly WasmValue[] | undefined })
  | (CallFigures & { readonly ok: false; readonly trap: TrapKind; readonly message: string })

/**
 * Host functions a guest may import, by capability. Nothing else is importable: no WASI, no clock,
 * no env, no filesystem, no network.
 *  - `log`: `troupe.log(ptr: i32, len: i32)` — a UTF-8 line from the guest's memory.
 *  - `kv`: `troupe.kv_get(kptr, klen, vptr, vcap) -> i32` (value length, -1 when absent; copies at most
 *    vcap bytes) and `troupe.kv_set(kptr, klen, vptr, vlen)`, on a store scoped to the call's tenant.
 *    Writes are committed only when the call returns normally (a trapped call changes nothing).
 */
export type Capability = 'log' | 'kv'

export const CAPABILITY_IMPORTS: Readonly<Record<Capability, readonly string[]>> = {
  log: ['log'],
  kv: ['kv_get', 'kv_set'],
}

/** The import module name every capability lives under. */
export const HOST_MODULE = 'troupe'

/** Bounds that apply inside the guest's thread (sent with every call). */
export interface GuestLimits {
  readonly hostCallFuel: number
  readonly maxLogLines: number
  readonly maxLogBytes: number
  readonly maxKvEntries: number
  readonly maxKvKeyBytes: number
  readonly maxKvValueBytes: number
}

/** One call as it crosses to the guest's thread (structured-clone friendly). */
export interface RunRequest {
  readonly hash: string
  readonly exportName: string
  readonly args: readonly WasmValue[]
  readonly fuel: number
  readonly grants: readonly Capability[]
  /** The tenant's key-value entries when `kv` is granted, else null. */
  readonly kv: ReadonlyArray<readonly [string, Uint8Array]> | null
  readonly limits: GuestLimits
}

/** A refusal of the call itself (not a trap): missing export, arguments that do not convert. */
export interface RunRefusal {
  readonly refused: true
  readonly code: 'ERR_WASM_BAD_CALL' | 'ERR_WASM_IMPORT_DENIED' | 'ERR_WASM_UNKNOWN_MODULE'
  readonly message: string
}

export type RunOutcome =
  | { readonly refused: false; readonly result: WasmCallResult; readonly kvWrites: ReadonlyArray<readonly [string, Uint8Array]> }
  | RunRefusal
