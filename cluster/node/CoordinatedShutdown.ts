import type { Clock, Logger } from '../../runtime/index.ts'

/** Set once a phase's time is up: a phase that loops (a drain) stops looping. */
export interface PhaseToken {
  readonly cancelled: boolean
}

/** One step of a shutdown: runs once, within its timeout (Akka's coordinated-shutdown phase). */
export interface ShutdownPhase {
  readonly name: string
  /** Most time the phase may take; past it the shutdown moves on (and is not clean any more). */
  readonly timeoutMs: number
  run(token: PhaseToken): Promise<void>
}

export interface ShutdownReport {
  /** Every phase finished within its timeout, and the deadline was not reached. */
  readonly clean: boolean
  /** Phases that timed out or failed. */
  readonly incomplete: readonly string[]
  /** The graceful phases ran out of time and the forced ones ran. */
  readonly forced: boolean
}

type Outcome = 'done' | 'timeout' | 'failed'

/**
 * Runs shutdown phases in order, each within its own timeout, and all of them within one deadline.
 * The last `forceMs` of the deadline (at most half of it) are kept for the forced phases: when the graceful ones reach
 * that point, whatever is left of them is skipped and the forced ones run (stop the actors, leave,
 * close), each idempotent, so the process exits within the deadline having said goodbye. A phase
 * that times out or throws is logged and the next one runs (as Akka's `recover = on`). Every phase
 * is logged when it starts and ends, with its duration and outcome.
 */
export class CoordinatedShutdown {
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly deadlineMs: number
  private readonly forceMs: number

  constructor(options: { readonly clock: Clock; readonly logger: Logger; readonly deadlineMs: number; readonly forceMs: number }) {
    this.clock = options.clock
    this.logger = options.logger
    this.deadlineMs = options.deadlineMs
    this.forceMs = Math.min(options.forceMs, options.deadlineMs / 2)
  }

  async run(phases: readonly ShutdownPhase[], forced: readonly ShutdownPhase[]): Promise<ShutdownReport> {
    const start = this.clock.now()
    const hardEnd = start + this.deadlineMs
    const gracefulEnd = hardEnd - this.forceMs
    const incomplete: string[] = []
    for (const [index, phase] of phases.entries()) {
      const left = gracefulEnd - this.clock.now()
      if (left <= 0) {
        const skipped = phases.slice(index).map((p) => p.name)
        this.logger.warn({ skipped, deadlineMs: this.deadlineMs }, 'shutdown deadline reached: forcing the rest')
        incomplete.push(...skipped)
        await this.runForced(forced, hardEnd)
        return { clean: false, incomplete, forced: true }
      }
      const outcome = await this.runPhase(phase, Math.min(phase.timeoutMs, left), phase.timeoutMs > left)
      if (outcome !== 'done') incomplete.push(phase.name)
    }
    return { clean: incomplete.length === 0, incomplete, forced: false }
  }

  private async runForced(forced: readonly ShutdownPhase[], hardEnd: number): Promise<void> {
    for (const [index, phase] of forced.entries()) {
      // Share what is left among the forced phases still to run, so the last one (close) gets its turn.
      const left = Math.max(0, hardEnd - this.clock.now())
      await this.runPhase(phase, Math.min(phase.timeoutMs, left / (forced.length - index)), false, true)
    }
  }

  private async runPhase(phase: ShutdownPhase, budgetMs: number, cutByDeadline: boolean, forced = false): Promise<Outcome> {
    const began = this.clock.now()
    this.logger.info({ phase: phase.name, timeoutMs: Math.round(budgetMs), ...(forced ? { forced } : {}) }, 'shutdown phase started')
    const outcome = await this.within(phase, budgetMs)
    const fields = { phase: phase.name, ms: Math.round(this.clock.now() - began), outcome, ...(forced ? { forced } : {}) }
    if (outcome === 'done') this.logger.info(fields, 'shutdown phase done')
    else this.logger.warn({ ...fields, timeoutMs: Math.round(budgetMs), cutByDeadline }, `shutdown phase ${outcome === 'timeout' ? 'timed out' : 'failed'}`)
    return outcome
  }

  private within(phase: ShutdownPhase, ms: number): Promise<Outcome> {
    return new Promise((resolve) => {
      const token = { cancelled: false }
      const timer = this.clock.setTimer(ms, () => {
        token.cancelled = true
        resolve('timeout')
      })
      let work: Promise<void>
      try {
        work = phase.run(token)
      } catch (error) {
        work = Promise.reject(error as Error)
      }
      work.then(
        () => {
          this.clock.clearTimer(timer)
          resolve('done')
        },
        (error: unknown) => {
          this.clock.clearTimer(timer)
          this.logger.error({ err: error, phase: phase.name }, 'shutdown phase threw')
          resolve('failed')
        },
      )
    })
  }
}

/**
 * Waits, polling on the injected clock every `pollMs`, until `probe` reports no pending work and (with
 * `quietMs` > 0) no frame has arrived for `quietMs`. For drains: the phase timeout bounds it (token).
 */
export async function waitUntilDrained(
  clock: Clock,
  token: PhaseToken,
  probe: () => Promise<{ readonly pending: number; readonly framesIn: number }>,
  quietMs: number,
  pollMs = 20,
): Promise<void> {
  let lastFrames = -1
  let quietSince = clock.now()
  while (!token.cancelled) {
    const { pending, framesIn } = await probe()
    const now = clock.now()
    if (framesIn !== lastFrames) {
      lastFrames = framesIn
      quietSince = now
    }
    if (pending === 0 && now - quietSince >= quietMs) return
    await new Promise<void>((resolve) => clock.setTimer(pollMs, resolve))
  }
}
