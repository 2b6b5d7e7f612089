import { InvalidArgumentError } from '../runtime/index.ts'

/** The format tag of a decision record; a record of another format is refused. */
export const DECISION_FORMAT = 'troupe-sim-decisions/1'

/**
 * Every scheduler decision of one run, so it can be replayed without the scheduler's random
 * generator. A decision names the actor that ran (`process label:actor path`), not a queue index,
 * so a replay survives code changes that keep the same actors runnable at the same points.
 *
 * `decisions` is a flat list of integers: `0` fires the due event; `k > 0` runs `names[k - 1]` and
 * is followed by the turn's budget; `-1` / `-2` run promise continuations now / not now. The seed
 * still drives the world's own streams (latency, loss, per-node randomness, event tie-breaks).
 */
export interface DecisionRecord {
  readonly format: typeof DECISION_FORMAT
  readonly seed: number
  readonly names: readonly string[]
  readonly decisions: readonly number[]
}

/** Encodes a record as JSON (write it to a file next to the failing test). */
export function encodeDecisions(record: DecisionRecord): string {
  return JSON.stringify(record)
}

/** Parses and checks what `encodeDecisions` wrote. */
export function decodeDecisions(text: string): DecisionRecord {
  const value = JSON.parse(text) as Partial<DecisionRecord>
  if (value.format !== DECISION_FORMAT) throw new InvalidArgumentError(`not a decision record (format ${String(value.format)}, expected ${DECISION_FORMAT})`)
  if (!Number.isInteger(value.seed) || !Array.isArray(value.names) || !Array.isArray(value.decisions)) throw new InvalidArgumentError('decision record lacks seed, names or decisions')
  if (!value.names.every((n) => typeof n === 'string') || !value.decisions.every((d) => Number.isInteger(d))) throw new InvalidArgumentError('decision record holds malformed entries')
  return { format: DECISION_FORMAT, seed: value.seed as number, names: value.names, decisions: value.decisions }
}
