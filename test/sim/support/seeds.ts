/**
 * How many seeds a correct twin runs. `npm test` keeps the sim project fast; set
 * TROUPE_SIM_LONG=<factor> (e.g. 50) for a long soak of every such search.
 */
export function seeds(count: number): number {
  const raw = process.env['TROUPE_SIM_LONG']
  const factor = raw === undefined || raw.trim() === '' ? 1 : Number(raw)
  return Number.isFinite(factor) && factor > 1 ? Math.round(count * factor) : count
}
