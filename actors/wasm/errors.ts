import { defineError, defineRejection } from '../../runtime/index.ts'
import { WasmErrorCodes } from '../errors.ts'

/** The bytes are not a valid WebAssembly module (or fail our own bounded decoding). */
export const WasmInvalidError = defineRejection(WasmErrorCodes.Invalid, 'WasmInvalidError')
/** The module is larger than the sandbox's `maxModuleBytes`. */
export const WasmTooLargeError = defineRejection(WasmErrorCodes.TooLarge, 'WasmTooLargeError')
/** The module uses a feature the sandbox does not run (threads, memory64, exceptions, GC, imported memory…). */
export const WasmUnsupportedError = defineRejection(WasmErrorCodes.Unsupported, 'WasmUnsupportedError')
/** The module imports something that is not a known capability, or one the call did not grant. */
export const WasmImportDeniedError = defineRejection(WasmErrorCodes.ImportDenied, 'WasmImportDeniedError')
/** The module declares more initial memory (or table) than the cap. */
export const WasmMemoryLimitError = defineRejection(WasmErrorCodes.MemoryLimit, 'WasmMemoryLimitError')
/** The metering pass produced a module that does not validate: a bug in the pass, never the guest's fault. */
export const WasmInstrumentError = defineError(WasmErrorCodes.Instrument, 'WasmInstrumentError')
/** A call names a module hash this sandbox never loaded. */
export const WasmUnknownModuleError = defineRejection(WasmErrorCodes.UnknownModule, 'WasmUnknownModuleError')
/** A call names a missing export, or passes arguments that do not fit the export's signature. */
export const WasmBadCallError = defineRejection(WasmErrorCodes.BadCall, 'WasmBadCallError')
/** Sandbox or call options out of range. */
export const WasmBadOptionsError = defineRejection(WasmErrorCodes.BadOptions, 'WasmBadOptionsError')
/** The worker running guests exited unexpectedly (crash, heap limit, killed): a failure for the supervisor. */
export const WasmWorkerLostError = defineError(WasmErrorCodes.WorkerLost, 'WasmWorkerLostError')
