import type { Clock } from '../../runtime/index.ts'
import type { ExecOutcome, GuestExecutor } from './GuestExecutor.ts'
import { runGuest } from './GuestRunner.ts'
import type { LoadedModule } from './ModuleStore.ts'
import type { RunRequest } from './WasmTypes.ts'

/**
 * Runs guests on the actor's own thread, for the deterministic simulator, where a worker thread
 * would run on real time. Time is virtual: a call "takes" `fuelUsed / fuelPerMs` ms, the deadline
 * becomes a fuel cap (`deadlineMs * fuelPerMs`), and the reply waits that long on the (simulated)
 * clock, so a seed replays the same interleaving. Only for metered modules: without fuel there is
 * no way to stop a guest inline.
 */
export class InlineExecutor implements GuestExecutor {
  private readonly clock: Clock
  private readonly fuelPerMs: number

  constructor(clock: Clock, fuelPerMs: number) {
    this.clock = clock
    this.fuelPerMs = fuelPerMs
  }

  readonly alive = true

  run(loaded: LoadedModule, request: RunRequest, deadlineMs: number): Promise<ExecOutcome> {
    const deadlineFuel = Math.floor(deadlineMs * this.fuelPerMs)
    const capped = deadlineFuel < request.fuel
    const outcome = runGuest(loaded.module, capped ? { ...request, fuel: deadlineFuel } : request, () => 0)
    if (outcome.refused) return Promise.resolve({ kind: 'ran', outcome })
    const virtualMs = outcome.result.fuelUsed / this.fuelPerMs
    const timed = { ...outcome.result, durationMs: virtualMs }
    const result = capped && !timed.ok && timed.trap === 'fuel' ? { ...timed, trap: 'deadline' as const, message: `virtual deadline of ${deadlineMs} ms reached` } : timed
    return new Promise((resolve) => {
      this.clock.setTimer(virtualMs, () => resolve({ kind: 'ran', outcome: { ...outcome, result } }))
    })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}
