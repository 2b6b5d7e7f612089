import { defineError, toError } from '../runtime/index.ts'
import { SEED_ENV, seedFromEnv } from './seeds.ts'
import { Simulation, type SimulationOptions } from './Simulation.ts'

/** A seed's run failed; the message says which and how to replay it. */
export const SeedFailedError = defineError('ERR_SIM_SEED_FAILED', 'SeedFailedError')
export type SeedFailedError = InstanceType<typeof SeedFailedError>

export interface SeedRunOptions {
  /** How many seeds (`firstSeed`, `firstSeed + 1`, ...), or the exact seeds. Default 100. */
  readonly seeds?: number | readonly number[]
  /** First seed when `seeds` is a count. Default 1. */
  readonly firstSeed?: number
  /** Options for each run's Simulation (its seed is set per run). */
  readonly simulation?: Omit<SimulationOptions, 'seed'>
}

/** A scenario: build the world on `sim`, drive it, assert. Throwing fails the seed. */
export type Scenario = (sim: Simulation) => Promise<void>

function seedList(options: SeedRunOptions): number[] {
  const replay = seedFromEnv()
  if (replay !== undefined) return [replay]
  const seeds = options.seeds ?? 100
  if (typeof seeds !== 'number') return [...seeds]
  const first = options.firstSeed ?? 1
  return Array.from({ length: seeds }, (_, i) => (first + i) >>> 0)
}

async function runOne(seed: number, options: SeedRunOptions, scenario: Scenario): Promise<Error | null> {
  const sim = new Simulation({ ...(options.simulation ?? {}), seed })
  try {
    await scenario(sim)
    return null
  } catch (error) {
    return toError(error)
  }
}

function failure(seed: number, error: Error, tried: number): SeedFailedError {
  return new SeedFailedError(`seed ${seed} failed (run ${tried}); replay it alone with ${SEED_ENV}=${seed}\n${error.message}`, { cause: error, data: { seed, tried } })
}

/**
 * Runs `scenario` once per seed, each on a fresh Simulation, and throws on the first failure with
 * the seed and how to replay it. With TROUPE_SIM_SEED set, runs that one seed only. Resolves with
 * how many seeds ran.
 */
export async function forEachSeed(options: SeedRunOptions, scenario: Scenario): Promise<number> {
  const seeds = seedList(options)
  for (let i = 0; i < seeds.length; i++) {
    const seed = seeds[i] as number
    const error = await runOne(seed, options, scenario)
    if (error !== null) throw failure(seed, error, i + 1)
  }
  return seeds.length
}

/** What `findFailingSeed` found. */
export interface FoundFailure {
  readonly seed: number
  readonly error: Error
  /** Seeds tried, the failing one included. */
  readonly tried: number
}

/**
 * Searches seeds for one whose run fails and returns it (null when every seed passed): the way to
 * show that a bug is found within a bounded number of seeds. Honours TROUPE_SIM_SEED like forEachSeed.
 */
export async function findFailingSeed(options: SeedRunOptions, scenario: Scenario): Promise<FoundFailure | null> {
  const seeds = seedList(options)
  for (let i = 0; i < seeds.length; i++) {
    const seed = seeds[i] as number
    const error = await runOne(seed, options, scenario)
    if (error !== null) return { seed, error, tried: i + 1 }
  }
  return null
}
