/** Runs remembered per node name: enough for a node that restarts in a loop, bounded against a flood. */
const MAX_RUNS_PER_NODE = 16
/** Node names remembered at most (signed heartbeats only reach here, but stay bounded anyway). */
const MAX_NODES = 4096

/**
 * The runs (node name + incarnation) this membership will never admit again: declared down here,
 * or reported declared down by another member. A quarantined run that is still alive (it was
 * paused, or cut off) gets a `quarantined` notice when it is heard, at most once per interval, so
 * it learns it is out and stops its remote traffic; only a restart (a new incarnation) rejoins.
 */
export class Quarantine {
  private readonly runs = new Map<string, Map<string, number>>()

  /** Quarantines `incarnation` of `node`. Returns whether it was new. */
  add(node: string, incarnation: string): boolean {
    let runs = this.runs.get(node)
    if (runs === undefined) {
      if (this.runs.size >= MAX_NODES) {
        // Forget the oldest name: it has not come back for the longest time.
        const oldest = this.runs.keys().next().value as string
        this.runs.delete(oldest)
      }
      runs = new Map()
      this.runs.set(node, runs)
    }
    if (runs.has(incarnation)) return false
    if (runs.size >= MAX_RUNS_PER_NODE) runs.delete(runs.keys().next().value as string)
    runs.set(incarnation, Number.NEGATIVE_INFINITY)
    return true
  }

  has(node: string, incarnation: string): boolean {
    return this.runs.get(node)?.has(incarnation) === true
  }

  /**
   * Whether a quarantined run that was just heard should get a notice now: the first time, then at
   * most once per `intervalMs` (a zombie beating fast must not make every member flood the subject).
   */
  noticeDue(node: string, incarnation: string, now: number, intervalMs: number): boolean {
    const runs = this.runs.get(node)
    const last = runs?.get(incarnation)
    if (runs === undefined || last === undefined || now - last < intervalMs) return false
    runs.set(incarnation, now)
    return true
  }
}
