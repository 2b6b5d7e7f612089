import { FUEL_EXPORT, MEMORY_EXPORT, START_EXPORT } from './binary/Instrument.ts'
import { hostFunctions, HostTrap, type HostSession } from './HostFunctions.ts'
import { Wasm, type CompiledModule, type ImportObject, type WasmGlobal, type WasmInstance, type WasmMemory } from './WebAssemblyApi.ts'
import type { RunOutcome, RunRequest, TrapKind, WasmCallResult, WasmValue } from './WasmTypes.ts'

/**
 * Runs one call on a fresh instance of an instrumented module: a new instance per call means no
 * guest state (memory, globals, tables) survives from one call, or one tenant, to the next. Used in
 * the sandbox worker and, under the simulator, inline. `now` is the caller's clock.
 */
export function runGuest(module: CompiledModule, request: RunRequest, now: () => number): RunOutcome {
  const started = now()
  const session: HostSession = { active: true, instance: null, logs: [], logBytes: 0, kv: request.kv === null ? null : new Map(request.kv), kvWrites: new Map(), limits: request.limits }
  const imports: ImportObject = {}
  const functions = hostFunctions(session, request.grants)
  for (const imp of Wasm.Module.imports(module)) {
    const fn = imp.kind === 'function' && imp.module === 'troupe' ? functions[imp.name] : undefined
    if (fn === undefined) return { refused: true, code: 'ERR_WASM_IMPORT_DENIED', message: `import ${imp.module}.${imp.name} is not granted to this call` }
    ;(imports[imp.module] ??= {})[imp.name] = fn
  }
  let instance: WasmInstance
  try {
    instance = new Wasm.Instance(module, imports)
  } catch (error) {
    // Data or element segments out of bounds: a trap at instantiation.
    return { refused: false, result: trapResult(classify(error, false), error, 0, now() - started, 0, session.logs), kvWrites: [] }
  }
  session.instance = instance
  const exports = instance.exports
  const target = exports[request.exportName]
  if (typeof target !== 'function' || request.exportName.startsWith('__troupe_')) {
    return { refused: true, code: 'ERR_WASM_BAD_CALL', message: `the module exports no function named ${request.exportName}` }
  }
  const fuel = exports[FUEL_EXPORT] as WasmGlobal | undefined
  if (fuel !== undefined) fuel.value = BigInt(request.fuel)
  const memoryBytes = (): number => (exports[MEMORY_EXPORT] as WasmMemory | undefined)?.buffer.byteLength ?? 0
  const fuelUsed = (): number => (fuel === undefined ? 0 : request.fuel - Math.max(0, Number(fuel.value as bigint)))
  const call = target as (...args: WasmValue[]) => unknown
  let value: unknown
  try {
    const start = exports[START_EXPORT] as (() => void) | undefined
    if (start !== undefined) start()
    value = call(...request.args)
  } catch (error) {
    session.active = false
    if (error instanceof TypeError && !(error instanceof HostTrap)) {
      return { refused: true, code: 'ERR_WASM_BAD_CALL', message: `arguments do not fit ${request.exportName}: ${error.message}` }
    }
    const outOfFuel = fuel !== undefined && (fuel.value as bigint) < 0n
    const kind = outOfFuel ? 'fuel' : classify(error, true)
    return { refused: false, result: trapResult(kind, error, outOfFuel ? request.fuel : fuelUsed(), now() - started, memoryBytes(), session.logs), kvWrites: [] }
  }
  session.active = false
  if (!plainValue(value)) {
    return { refused: true, code: 'ERR_WASM_BAD_CALL', message: `${request.exportName} returns a reference (funcref/externref); only numbers cross the sandbox boundary` }
  }
  const result: WasmCallResult = { ok: true, value, fuelUsed: fuelUsed(), durationMs: now() - started, memoryBytes: memoryBytes(), logs: session.logs }
  return { refused: false, result, kvWrites: [...session.kvWrites] }
}

function plainValue(value: unknown): value is WasmValue | WasmValue[] | undefined {
  if (value === undefined || typeof value === 'number' || typeof value === 'bigint') return true
  return Array.isArray(value) && value.every((v) => typeof v === 'number' || typeof v === 'bigint')
}

function trapResult(trap: TrapKind, error: unknown, fuelUsed: number, durationMs: number, memoryBytes: number, logs: readonly string[]): WasmCallResult {
  const message = error instanceof Error ? error.message : String(error)
  return { ok: false, trap, message, fuelUsed, durationMs, memoryBytes, logs }
}

/** Maps an engine trap to a kind. V8's RuntimeError messages name the trap; anything else is the host's. */
function classify(error: unknown, running: boolean): TrapKind {
  if (error instanceof HostTrap) return error.kind
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'stack'
  if (!(error instanceof Wasm.RuntimeError)) return running ? 'host' : 'memory'
  const m = error.message
  if (/unreachable/.test(m)) return 'unreachable'
  if (/memory|data segment|out of bounds memory/i.test(m)) return 'memory'
  if (/divide|remainder|integer overflow|unrepresentable|float/i.test(m)) return 'arithmetic'
  if (/table|function|signature|indirect|null/i.test(m)) return 'indirect'
  return 'host'
}
