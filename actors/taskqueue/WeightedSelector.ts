/**
 * Weighted fair selection across priority levels: smooth weighted round robin (nginx's upstream
 * algorithm). Each pick adds every level's weight to its credit, picks the level with the most
 * credit and takes the total weight from it. The picks repeat with period W = Σ weights and every
 * window of W consecutive picks holds exactly `weight` picks of each level, spread out rather than
 * in runs, so no level waits more than W picks for its turn: no starvation.
 *
 * The plan assumes every level has work. A level that comes back short (fewer tasks than its
 * quota) hands the rest of its quota to the others in the fetch script, highest priority first:
 * a level with work always gets at least its planned share, and no slot is left idle while any
 * level has work. Pure and synchronous: the property tests drive it directly.
 */
export class WeightedSelector {
  private readonly weights: readonly number[]
  private readonly credit: number[]
  private readonly total: number

  constructor(weights: readonly number[]) {
    if (weights.length === 0 || weights.some((w) => !Number.isInteger(w) || w < 1)) throw new RangeError('weights must be positive integers')
    this.weights = [...weights]
    this.credit = weights.map(() => 0)
    this.total = weights.reduce((a, b) => a + b, 0)
  }

  /** The next level to serve. */
  next(): number {
    let best = 0
    for (let i = 0; i < this.weights.length; i++) {
      this.credit[i] = (this.credit[i] as number) + (this.weights[i] as number)
      if ((this.credit[i] as number) > (this.credit[best] as number)) best = i
    }
    this.credit[best] = (this.credit[best] as number) - this.total
    return best
  }

  /** Quotas for `n` picks (one count per level), continuing the same sequence as `next`. */
  plan(n: number): number[] {
    const quotas = this.weights.map(() => 0)
    for (let k = 0; k < n; k++) {
      const i = this.next()
      quotas[i] = (quotas[i] as number) + 1
    }
    return quotas
  }
}

/**
 * What the fetch script does with a plan, as a pure function (the model the property tests check,
 * and the documentation of the Lua): each level gives up to its quota; the quota a short level
 * could not fill goes to the levels that were not short, highest first.
 */
export function fillPlan(quotas: readonly number[], available: readonly number[]): { delivered: number[]; short: boolean[] } {
  const delivered = quotas.map((q, i) => Math.min(q, available[i] ?? 0))
  const short = quotas.map((q, i) => (delivered[i] as number) < q)
  let spare = quotas.reduce((sum, q, i) => sum + q - (delivered[i] as number), 0)
  for (let i = 0; i < quotas.length && spare > 0; i++) {
    if (short[i] === true) continue
    const more = Math.min(spare, (available[i] ?? 0) - (delivered[i] as number))
    delivered[i] = (delivered[i] as number) + more
    spare -= more
    if (more === 0) short[i] = true
  }
  return { delivered, short }
}
