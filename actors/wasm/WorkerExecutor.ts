import type { ResourceLimits, Worker } from 'node:worker_threads'
import type { Clock, TimerHandle } from '../../runtime/index.ts'
import { WasmWorkerLostError } from './errors.ts'
import type { ExecOutcome, GuestExecutor } from './GuestExecutor.ts'
import { launchSandboxWorker } from './launchSandboxWorker.ts'
import type { LoadedModule } from './ModuleStore.ts'
import type { RunOutcome, RunRequest } from './WasmTypes.ts'

interface Pending {
  readonly id: number
  readonly deadlineMs: number
  started: number
  timer: TimerHandle
  readonly resolve: (outcome: ExecOutcome) => void
}

/** How long a new worker may take to start (load its code) before a call counts it as lost. */
const STARTUP_MS = 30_000

/**
 * Runs guests in a worker thread with `resourceLimits` on its heap. A call that outlives its
 * deadline gets the worker terminated — the only way to stop a thread busy in guest code; the
 * executor is then dead and its owner starts another. An unexpected exit (crash, heap limit, an
 * outside `terminate`) reports `lost` to the pending call and to `onLost`.
 */
export class WorkerExecutor implements GuestExecutor {
  private readonly worker: Worker
  private readonly clock: Clock
  private readonly loaded = new Set<string>()
  private pending: Pending | null = null
  private nextId = 1
  private dead = false
  private closing = false
  private readonly exited: Promise<void>

  constructor(clock: Clock, resourceLimits: ResourceLimits | undefined, onLost: (error: Error) => void) {
    this.clock = clock
    this.worker = launchSandboxWorker(resourceLimits)
    let lastError: Error | null = null
    this.worker.on('error', (error: Error) => {
      lastError = error
    })
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        const wasDead = this.dead
        this.dead = true
        const error = new WasmWorkerLostError(`sandbox worker exited (code ${code})${lastError === null ? '' : `: ${lastError.message}`}`, {
          cause: lastError ?? undefined,
          data: { exitCode: code, reason: (lastError as { code?: string } | null)?.code ?? null },
        })
        const pending = this.pending
        if (pending !== null) {
          this.pending = null
          this.clock.clearTimer(pending.timer)
          const memory = (lastError as { code?: string } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY'
          pending.resolve({ kind: 'lost', error, memory, durationMs: this.clock.now() - pending.started })
        }
        if (!wasDead && !this.closing) onLost(error)
        resolve()
      })
    })
    this.worker.on('message', (message: { t: string; id?: number; outcome?: RunOutcome }) => {
      const pending = this.pending
      if (pending === null || message.id !== pending.id) return
      if (message.t === 'started') {
        // The deadline counts from here: a worker still loading its code is not the guest's time.
        this.clock.clearTimer(pending.timer)
        pending.started = this.clock.now()
        pending.timer = this.clock.setTimer(pending.deadlineMs, () => this.expire(pending))
        return
      }
      if (message.t !== 'done') return
      this.pending = null
      this.clock.clearTimer(pending.timer)
      pending.resolve({ kind: 'ran', outcome: message.outcome as RunOutcome })
    })
  }

  get alive(): boolean {
    return !this.dead
  }

  run(loaded: LoadedModule, request: RunRequest, deadlineMs: number): Promise<ExecOutcome> {
    if (this.dead) return Promise.resolve({ kind: 'lost', error: new WasmWorkerLostError('sandbox worker is gone'), memory: false, durationMs: 0 })
    if (!this.loaded.has(loaded.hash)) {
      this.worker.postMessage({ t: 'load', hash: loaded.hash, module: loaded.module })
      this.loaded.add(loaded.hash)
    }
    const id = this.nextId++
    return new Promise((resolve) => {
      const pending: Pending = { id, deadlineMs, started: this.clock.now(), timer: null as unknown as TimerHandle, resolve }
      pending.timer = this.clock.setTimer(Math.max(deadlineMs, STARTUP_MS), () => this.expire(pending))
      this.pending = pending
      this.worker.postMessage({ t: 'run', id, request })
    })
  }

  private expire(pending: Pending): void {
    if (this.pending !== pending) return
    this.pending = null
    // Marked dead first, so the exit that follows is not reported as a loss.
    this.dead = true
    void this.worker.terminate()
    pending.resolve({ kind: 'deadline', durationMs: this.clock.now() - pending.started })
  }

  async close(): Promise<void> {
    this.closing = true
    this.dead = true
    await this.worker.terminate()
    await this.exited
  }

  /** For tests and the supervisor demo: kill the worker from outside, as a crash would. */
  kill(): Promise<number> {
    return this.worker.terminate()
  }
}
