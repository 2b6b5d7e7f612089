/**
 * Errors of the built-in component actors. Each component adds its codes here, so that one table
 * lists every code the `troupe/actors` entry can raise.
 */
export const ActorsErrorCodes = {} as const

/** WASM sandbox (`actors/wasm`): every refusal of a module or a call, and the loss of a worker. */
export const WasmErrorCodes = {
  Invalid: 'ERR_WASM_INVALID',
  TooLarge: 'ERR_WASM_TOO_LARGE',
  Unsupported: 'ERR_WASM_UNSUPPORTED',
  ImportDenied: 'ERR_WASM_IMPORT_DENIED',
  MemoryLimit: 'ERR_WASM_MEMORY_LIMIT',
  Instrument: 'ERR_WASM_INSTRUMENT',
  UnknownModule: 'ERR_WASM_UNKNOWN_MODULE',
  BadCall: 'ERR_WASM_BAD_CALL',
  BadOptions: 'ERR_WASM_BAD_OPTIONS',
  WorkerLost: 'ERR_WASM_WORKER_LOST',
} as const
