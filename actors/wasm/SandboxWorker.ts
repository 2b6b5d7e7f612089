/**
 * Worker-thread entry of a sandbox: holds compiled modules by hash and runs calls with `runGuest`.
 * Nothing from the host reaches a guest but the granted host functions; this thread has no other
 * state a guest could touch, and the parent terminates it on a deadline.
 */
import { parentPort } from 'node:worker_threads'
import { SystemClock } from '../../runtime/index.ts'
import { runGuest } from './GuestRunner.ts'
import type { RunOutcome, RunRequest } from './WasmTypes.ts'
import type { CompiledModule } from './WebAssemblyApi.ts'

export type ToWorker = { readonly t: 'load'; readonly hash: string; readonly module: CompiledModule } | { readonly t: 'run'; readonly id: number; readonly request: RunRequest }

const port = parentPort
if (port === null) throw new Error('SandboxWorker runs in a worker thread')
const clock = new SystemClock()
const modules = new Map<string, CompiledModule>()

port.on('message', (message: ToWorker) => {
  if (message.t === 'load') {
    modules.set(message.hash, message.module)
    return
  }
  port.postMessage({ t: 'started', id: message.id })
  const module = modules.get(message.request.hash)
  const started = clock.now()
  let outcome: RunOutcome
  try {
    outcome =
      module === undefined
        ? { refused: true, code: 'ERR_WASM_UNKNOWN_MODULE', message: `module ${message.request.hash} is not loaded in this worker` }
        : runGuest(module, message.request, () => clock.now())
  } catch (error) {
    // Not a guest trap (those are results): a fault of the host side. Reported, and this thread lives on.
    const text = error instanceof Error ? error.message : String(error)
    outcome = { refused: false, result: { ok: false, trap: 'host', message: `sandbox host error: ${text}`, fuelUsed: message.request.fuel, durationMs: clock.now() - started, memoryBytes: 0, logs: [] }, kvWrites: [] }
  }
  port.postMessage({ t: 'done', id: message.id, outcome })
})
port.postMessage({ t: 'ready' })
