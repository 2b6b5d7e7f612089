import type { LoadedModule } from './ModuleStore.ts'
import type { RunOutcome, RunRequest } from './WasmTypes.ts'

/** What running one call produced: the guest's outcome, a deadline kill, or the loss of the executor. */
export type ExecOutcome =
  | { readonly kind: 'ran'; readonly outcome: RunOutcome }
  | { readonly kind: 'deadline'; readonly durationMs: number }
  | { readonly kind: 'lost'; readonly error: Error; readonly memory: boolean; readonly durationMs: number }

/**
 * Where guests run: a worker thread (wall-clock deadline by terminating it) or inline under the
 * simulator (virtual-time deadline derived from fuel). One call at a time: the actor serializes.
 */
export interface GuestExecutor {
  run(loaded: LoadedModule, request: RunRequest, deadlineMs: number): Promise<ExecOutcome>
  /** False after a deadline kill or a crash: the owner replaces it. */
  readonly alive: boolean
  close(): Promise<void>
}
