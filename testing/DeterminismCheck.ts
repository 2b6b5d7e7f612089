import { SimNondeterminismError } from './errors.ts'
import { Simulation } from './Simulation.ts'
import type { SimulationOptions } from './SimulationOptions.ts'
import type { TraceEvent } from './Trace.ts'

export interface DeterminismCheckOptions {
  readonly seed?: number
  /** Runs to compare. Default 2. */
  readonly runs?: number
  readonly simulation?: Omit<SimulationOptions, 'seed' | 'keepFullTrace'>
}

export interface DeterminismReport {
  readonly seed: number
  readonly hash: string
  readonly events: number
}

/**
 * The determinism self-check: runs `scenario` on fresh simulations with the same seed, keeping
 * every event, and compares the runs. When they differ it throws ERR_SIM_NONDETERMINISM naming the
 * first divergent event of each run, which points at the nondeterminism (a Map keyed by object
 * identity iterated, a shared module-level counter, an ambient call in library code).
 */
export async function checkDeterminism(scenario: (sim: Simulation) => Promise<void>, options: DeterminismCheckOptions = {}): Promise<DeterminismReport> {
  const seed = options.seed ?? 1
  const runs = Math.max(2, options.runs ?? 2)
  let first: { hash: string; trace: readonly TraceEvent[] } | null = null
  for (let run = 0; run < runs; run++) {
    const sim = new Simulation({ ...(options.simulation ?? {}), seed, keepFullTrace: true })
    await scenario(sim)
    const trace = sim.fullTrace ?? []
    const current = { hash: sim.traceHash, trace }
    if (first === null) {
      first = current
      continue
    }
    if (current.hash === first.hash && current.trace.length === first.trace.length) continue
    const at = firstDifference(first.trace, current.trace)
    if (at === first.trace.length && at === current.trace.length) {
      throw new SimNondeterminismError(`seed ${seed} is not deterministic: run 1 and run ${run + 1} render the same ${at} events but hash differently (frame contents or queue lengths differ)`, {
        data: { seed, event: null, expected: null, actual: null },
      })
    }
    const show = (e: TraceEvent | undefined): string => (e === undefined ? '(run ended)' : `#${e.step} t=${e.time} ${e.kind} ${e.process ?? ''} ${e.detail}`)
    throw new SimNondeterminismError(
      `seed ${seed} is not deterministic: run 1 and run ${run + 1} differ at event ${at}\n  run 1:           ${show(first.trace[at])}\n  run ${run + 1}:           ${show(current.trace[at])}`,
      { data: { seed, event: at, expected: first.trace[at] ?? null, actual: current.trace[at] ?? null } },
    )
  }
  const done = first as { hash: string; trace: readonly TraceEvent[] }
  return { seed, hash: done.hash, events: done.trace.length }
}

function firstDifference(a: readonly TraceEvent[], b: readonly TraceEvent[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] as TraceEvent
    const y = b[i] as TraceEvent
    if (x.step !== y.step || x.time !== y.time || x.kind !== y.kind || x.process !== y.process || x.detail !== y.detail) return i
  }
  return n
}
