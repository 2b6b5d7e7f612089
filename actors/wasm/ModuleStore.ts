import { createHash } from 'node:crypto'
import { instrumentModule, type InstrumentOptions } from './binary/Instrument.ts'
import type { ImportEntry, Limits } from './binary/Sections.ts'
import { WasmBadOptionsError, WasmImportDeniedError, WasmInstrumentError, WasmInvalidError, WasmTooLargeError, WasmUnknownModuleError } from './errors.ts'
import { Wasm, type CompiledModule } from './WebAssemblyApi.ts'
import { CAPABILITY_IMPORTS, HOST_MODULE, type Capability } from './WasmTypes.ts'

export interface ModuleStoreOptions {
  /** Largest module accepted, in bytes. Default 8 MiB. */
  readonly maxModuleBytes?: number
  /** Memory cap in 64 KiB pages. Default 256 (16 MiB). */
  readonly maxMemoryPages?: number
  /** Cap on each table's elements. Default 10 000. */
  readonly maxTableElements?: number
  /** Compiled modules kept (oldest evicted first). Default 256. */
  readonly maxModules?: number
  /** False: no fuel metering (only for baselines; fuel limits are then not enforced). Default true. */
  readonly metering?: boolean
}

export interface LoadOptions {
  /** Capabilities the module may be granted; its imports must all belong to them. Default none. */
  readonly grants?: readonly Capability[]
}

/** A validated, instrumented, compiled module. `hash` names it in calls. */
export interface LoadedModule {
  readonly hash: string
  readonly module: CompiledModule
  readonly imports: readonly ImportEntry[]
  readonly functions: readonly string[]
  readonly memory: Limits | null
  readonly grants: readonly Capability[]
  readonly metered: boolean
}

export interface ModuleInfo {
  readonly hash: string
  readonly functions: readonly string[]
  readonly imports: readonly string[]
  readonly memory: Limits | null
  readonly grants: readonly Capability[]
}

const CAPABILITY_OF = new Map<string, Capability>(
  (Object.entries(CAPABILITY_IMPORTS) as [Capability, readonly string[]][]).flatMap(([cap, names]) => names.map((n) => [n, cap] as [string, Capability])),
)

/** The capability an import needs, or null when no capability provides it. */
export function capabilityOf(imp: ImportEntry): Capability | null {
  return imp.module === HOST_MODULE ? (CAPABILITY_OF.get(imp.name) ?? null) : null
}

/** Throws ERR_WASM_IMPORT_DENIED listing every import `grants` does not cover. Runs before any instantiation. */
export function checkImports(imports: readonly ImportEntry[], grants: readonly Capability[]): void {
  const denied = imports.filter((imp) => {
    const cap = capabilityOf(imp)
    return cap === null || !grants.includes(cap)
  })
  if (denied.length > 0) {
    const names = denied.map((d) => `${d.module}.${d.name}`)
    throw new WasmImportDeniedError(`imports not granted: ${names.join(', ')}`, { data: { denied: names, grants } })
  }
}

/**
 * Modules by content hash: validated (`Wasm.validate`), size-limited, import-checked,
 * instrumented (fuel, caps) and compiled once. The compiled `WebAssembly.Module` is what sandboxes
 * post to their workers (structured clone shares the compiled code), so a worker never recompiles.
 */
export class ModuleStore {
  readonly maxModuleBytes: number
  readonly instrument: InstrumentOptions
  private readonly maxModules: number
  private readonly modules = new Map<string, LoadedModule>()

  constructor(options: ModuleStoreOptions = {}) {
    this.maxModuleBytes = positiveInt(options.maxModuleBytes ?? 8 * 1024 * 1024, 'maxModuleBytes')
    this.maxModules = positiveInt(options.maxModules ?? 256, 'maxModules')
    this.instrument = {
      maxMemoryPages: positiveInt(options.maxMemoryPages ?? 256, 'maxMemoryPages', 65536),
      maxTableElements: positiveInt(options.maxTableElements ?? 10_000, 'maxTableElements'),
      metering: options.metering !== false,
    }
  }

  /** Loads (or finds) a module. Same bytes and same grants ⇒ same hash, compiled once. */
  async load(bytes: Uint8Array, options: LoadOptions = {}): Promise<LoadedModule> {
    if (!(bytes instanceof Uint8Array)) throw new WasmInvalidError('module bytes must be a Uint8Array', { data: { reason: 'not bytes' } })
    if (bytes.length > this.maxModuleBytes) {
      throw new WasmTooLargeError(`module of ${bytes.length} bytes exceeds the limit of ${this.maxModuleBytes}`, { data: { size: bytes.length, limit: this.maxModuleBytes } })
    }
    const grants = [...new Set(options.grants ?? [])].sort()
    for (const g of grants) if (!Object.hasOwn(CAPABILITY_IMPORTS, g)) throw new WasmBadOptionsError(`unknown capability ${String(g)}`, { data: { capability: g } })
    const hash = createHash('sha256').update(bytes).update(JSON.stringify([grants, this.instrument])).digest('hex')
    const cached = this.modules.get(hash)
    if (cached !== undefined) {
      // Refresh its place in the eviction order.
      this.modules.delete(hash)
      this.modules.set(hash, cached)
      return cached
    }
    if (!Wasm.validate(bytes)) throw new WasmInvalidError('the bytes are not a valid WebAssembly module', { data: { reason: 'validate' } })
    const out = instrumentModule(bytes, this.instrument)
    checkImports(out.imports, grants)
    if (!Wasm.validate(out.bytes)) throw new WasmInstrumentError('the metered module does not validate (a bug in the metering pass)', { data: { hash } })
    const module = await Wasm.compile(out.bytes)
    const loaded: LoadedModule = { hash, module, imports: out.imports, functions: out.functions, memory: out.memory, grants, metered: out.metered }
    this.modules.set(hash, loaded)
    if (this.modules.size > this.maxModules) this.modules.delete(this.modules.keys().next().value as string)
    return loaded
  }

  get(hash: string): LoadedModule {
    const loaded = this.modules.get(hash)
    if (loaded === undefined) throw new WasmUnknownModuleError(`no module loaded with hash ${hash}`, { data: { hash } })
    return loaded
  }

  get size(): number {
    return this.modules.size
  }
}

export function moduleInfo(loaded: LoadedModule): ModuleInfo {
  return { hash: loaded.hash, functions: loaded.functions, imports: loaded.imports.map((i) => `${i.module}.${i.name}`), memory: loaded.memory, grants: loaded.grants }
}

function positiveInt(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value <= 0 || value > max) throw new WasmBadOptionsError(`${name} must be an integer in [1, ${max}], got ${String(value)}`, { data: { option: name, value } })
  return value
}
