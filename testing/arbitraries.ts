import type * as FastCheck from 'fast-check'
import { InvalidArgumentError } from '../runtime/index.ts'
import type { Fault, FaultSchedule } from './FaultSchedule.ts'

/**
 * fast-check arbitraries for simulations. They take your `fc` (fast-check is a peer of the testing
 * kit, not a dependency of troupe), so `import * as fc from 'fast-check'` and pass it in:
 *
 * ```ts
 * await fc.assert(fc.asyncProperty(simulationCase(fc, { nodes: ['n1', 'n2', 'n3'] }), async ({ seed, faults }) => { ... }))
 * ```
 *
 * A failing case shrinks: fast-check drops faults, moves them earlier and shortens them until the
 * schedule is as small as it can be and still fails.
 */
type Fc = typeof FastCheck

export interface FaultScheduleOptions {
  /** Node names faults may hit. */
  readonly nodes: readonly string[]
  /** Faults happen within [0, horizonMs). Default 5000. */
  readonly horizonMs?: number
  /** Most faults in one schedule. Default 4. */
  readonly maxFaults?: number
  /** Longest pause / partition / time before a restart. Default 2000. */
  readonly maxDurationMs?: number
  /** Which kinds to draw. Default crash, pause and partition (add 'hold' for late deliveries). */
  readonly kinds?: readonly Fault['kind'][]
  /** Let crashed nodes stay down (no restart). Default false: every crash restarts. */
  readonly allowPermanentCrash?: boolean
}

/** A seed for `new Simulation({ seed })`. */
export function seedArbitrary(fc: Fc): FastCheck.Arbitrary<number> {
  return fc.integer({ min: 0, max: 0xffff_ffff })
}

/** One fault. */
export function faultArbitrary(fc: Fc, options: FaultScheduleOptions): FastCheck.Arbitrary<Fault> {
  const nodes = options.nodes
  if (nodes.length === 0) throw new InvalidArgumentError('faultArbitrary needs at least one node')
  const horizon = options.horizonMs ?? 5000
  const maxDuration = options.maxDurationMs ?? 2000
  const kinds = new Set(options.kinds ?? ['crash', 'pause', 'partition'])
  const at = fc.integer({ min: 0, max: Math.max(0, horizon - 1) })
  const node = fc.constantFrom(...nodes)
  const duration = fc.integer({ min: 1, max: maxDuration })
  const choices: FastCheck.Arbitrary<Fault>[] = []
  if (kinds.has('crash')) {
    const restart = options.allowPermanentCrash === true ? fc.option(duration, { nil: null }) : duration
    choices.push(fc.record({ kind: fc.constant('crash' as const), at, node, restartAfterMs: restart }))
  }
  if (kinds.has('hold')) choices.push(fc.record({ kind: fc.constant('hold' as const), at, node, durationMs: duration }))
  if (kinds.has('pause')) choices.push(fc.record({ kind: fc.constant('pause' as const), at, node, durationMs: duration }))
  if (kinds.has('partition') && nodes.length >= 2) {
    const split = fc.subarray([...nodes], { minLength: 1, maxLength: nodes.length - 1 }).map((a) => ({ a, b: nodes.filter((n) => !a.includes(n)) }))
    choices.push(
      fc.record({ kind: fc.constant('partition' as const), at, split, oneWay: fc.boolean(), durationMs: duration }).map(({ split: s, ...rest }) => ({ ...rest, a: s.a, b: s.b })),
    )
  }
  if (choices.length === 0) throw new InvalidArgumentError('faultArbitrary: no fault kind left to draw')
  return fc.oneof(...choices)
}

/** A fault schedule: up to `maxFaults` faults within the horizon. */
export function faultScheduleArbitrary(fc: Fc, options: FaultScheduleOptions): FastCheck.Arbitrary<FaultSchedule> {
  return fc.array(faultArbitrary(fc, options), { maxLength: options.maxFaults ?? 4 })
}

/** A seed and a fault schedule: one simulated run. */
export function simulationCase(fc: Fc, options: FaultScheduleOptions): FastCheck.Arbitrary<{ seed: number; faults: FaultSchedule }> {
  return fc.record({ seed: seedArbitrary(fc), faults: faultScheduleArbitrary(fc, options) })
}
