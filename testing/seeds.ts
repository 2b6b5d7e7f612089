import { InvalidArgumentError } from '../runtime/index.ts'

/** The environment variable that replays one seed: `TROUPE_SIM_SEED=1234 npx vitest run test/sim`. */
export const SEED_ENV = 'TROUPE_SIM_SEED'

/** The seed TROUPE_SIM_SEED asks for, if it is set (and valid). */
export function seedFromEnv(): number | undefined {
  const raw = process.env[SEED_ENV]
  if (raw === undefined || raw.trim() === '') return undefined
  const seed = Number(raw)
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new InvalidArgumentError(`${SEED_ENV} must be an integer in [0, 2^32), got '${raw}'`)
  return seed
}

/**
 * An independent 32-bit seed for stream `stream` of a simulation seeded with `seed` (a splitmix
 * step), so the scheduler, the network and each process draw from their own sequences: adding a
 * frame does not shift every later scheduling choice of an unrelated node.
 */
export function deriveSeed(seed: number, stream: number): number {
  let z = (seed + Math.imul(stream + 1, 0x9e3779b9)) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}
