/**
 * The term of every stored index, kept as runs (the first index of each term), so that
 * `installSnapshot` can tell at call time whether the stored log holds the snapshot's last entry
 * (Raft §7) without reading the log back. Terms change rarely, so this stays a handful of runs.
 */
export class TermRuns {
  /** runs[i] = [first index, term]; indexes ascending; the last run ends at `last`. */
  private runs: [number, number][] = []
  private last = 0

  /** Starts from a loaded log: the snapshot's (index, term) as the base, then the live entries. */
  reset(baseIndex: number, baseTerm: number): void {
    this.runs = baseIndex > 0 ? [[baseIndex, baseTerm]] : []
    this.last = baseIndex
  }

  /** Entries `first..first+terms.length-1` replace everything from `first` on. */
  append(first: number, terms: readonly number[]): void {
    this.truncate(first)
    for (let i = 0; i < terms.length; i++) {
      const term = terms[i] as number
      const tail = this.runs[this.runs.length - 1]
      if (tail === undefined || tail[1] !== term) this.runs.push([first + i, term])
    }
    if (terms.length > 0) this.last = first + terms.length - 1
  }

  /** The stored term at `index`, or undefined when nothing is known there. */
  termAt(index: number): number | undefined {
    if (index > this.last) return undefined
    for (let i = this.runs.length - 1; i >= 0; i--) {
      const run = this.runs[i] as [number, number]
      if (run[0] <= index) return run[1]
    }
    return undefined
  }

  private truncate(from: number): void {
    while (this.runs.length > 0 && (this.runs[this.runs.length - 1] as [number, number])[0] >= from) this.runs.pop()
    this.last = Math.min(this.last, from - 1)
  }
}
