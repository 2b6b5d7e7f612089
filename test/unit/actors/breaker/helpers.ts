import { SeededRandom, type Random } from '../../../../runtime/index.ts'
import { VirtualClock } from '../../../../testing/index.ts'
import { BreakerCore, REJECTED, resolveBreakerOptions, type BreakerOptions, type BreakerTransition, type CallOutcome } from '../../../../actors/index.ts'

export interface CoreHarness {
  readonly clock: VirtualClock
  readonly core: BreakerCore
  readonly events: BreakerTransition[]
  /** One call start to end: false when rejected. */
  call(outcome: CallOutcome, durationMs?: number): boolean
  /** `n` calls with the same outcome; returns how many were permitted. */
  calls(n: number, outcome: CallOutcome, durationMs?: number): number
}

export function coreHarness(options: Partial<BreakerOptions> = {}, random: Random = new SeededRandom(7)): CoreHarness {
  const clock = new VirtualClock()
  const events: BreakerTransition[] = []
  const core = new BreakerCore(resolveBreakerOptions({ name: 'svc', ...options }), clock, random, (t) => events.push(t))
  const call = (outcome: CallOutcome, durationMs = 0): boolean => {
    const permit = core.acquire()
    if (permit === REJECTED) return false
    core.complete(core.epoch, permit, outcome, durationMs)
    return true
  }
  const calls = (n: number, outcome: CallOutcome, durationMs = 0): number => {
    let permitted = 0
    for (let i = 0; i < n; i++) if (call(outcome, durationMs)) permitted++
    return permitted
  }
  return { clock, core, events, call, calls }
}
