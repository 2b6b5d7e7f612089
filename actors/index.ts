/**
 * Public entry point of the component layer (`troupe/actors`): built-in actors (circuit breaker,
 * rate limiters, service clients, sandbox, …), each an actor under a supervisor. Imports only the
 * layers to its left (runtime, supervision, transport, cluster).
 */
export { ActorsErrorCodes } from './errors.ts'
export { WasmErrorCodes } from './errors.ts'
export {
  WasmBadCallError, WasmBadOptionsError, WasmImportDeniedError, WasmInstrumentError, WasmInvalidError, WasmMemoryLimitError, WasmTooLargeError,
  WasmUnknownModuleError, WasmUnsupportedError, WasmWorkerLostError,
} from './wasm/errors.ts'
export { WasmSandbox } from './wasm/WasmSandbox.ts'
export type { WasmSandboxProtocol } from './wasm/WasmSandbox.ts'
export { WasmSandboxPool } from './wasm/WasmSandboxPool.ts'
export type { WasmSandboxPoolOptions } from './wasm/WasmSandboxPool.ts'
export { DEFAULT_GUEST_LIMITS } from './wasm/WasmSandboxOptions.ts'
export type { WasmCallRequest, WasmSandboxOptions } from './wasm/WasmSandboxOptions.ts'
export { ModuleStore } from './wasm/ModuleStore.ts'
export type { LoadOptions, ModuleInfo, ModuleStoreOptions } from './wasm/ModuleStore.ts'
export { WasmAccounting } from './wasm/WasmAccounting.ts'
export type { TenantUsage } from './wasm/WasmAccounting.ts'
export { TenantKv } from './wasm/TenantKv.ts'
export { CAPABILITY_IMPORTS, HOST_MODULE } from './wasm/WasmTypes.ts'
export type { Capability, GuestLimits, TrapKind, WasmCallResult, WasmValue } from './wasm/WasmTypes.ts'
export { instrumentModule } from './wasm/binary/Instrument.ts'
export type { InstrumentedModule, InstrumentOptions } from './wasm/binary/Instrument.ts'
