/**
 * The part of the engine's `WebAssembly` global the sandbox uses, typed here: the project's lib
 * (ES2023, Node types) declares no WebAssembly, and pulling in the DOM lib would let browser globals
 * into layer code.
 */
export interface CompiledModule {
  readonly __compiledWasmModule?: never
}

export interface WasmGlobal {
  value: unknown
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer
}

export interface WasmInstance {
  readonly exports: Readonly<Record<string, unknown>>
}

export interface ImportDescriptor {
  readonly module: string
  readonly name: string
  readonly kind: 'function' | 'table' | 'memory' | 'global' | 'tag'
}

export type ImportObject = Record<string, Record<string, unknown>>

interface WebAssemblyGlobal {
  validate(bytes: Uint8Array): boolean
  compile(bytes: Uint8Array): Promise<CompiledModule>
  readonly Module: (new (bytes: Uint8Array) => CompiledModule) & { imports(module: CompiledModule): ImportDescriptor[]; exports(module: CompiledModule): Array<{ name: string; kind: string }> }
  readonly Instance: new (module: CompiledModule, imports: ImportObject) => WasmInstance
  readonly RuntimeError: new (message?: string) => Error
}

export const Wasm: WebAssemblyGlobal = (globalThis as unknown as { WebAssembly: WebAssemblyGlobal }).WebAssembly
