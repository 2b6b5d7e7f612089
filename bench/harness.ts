/**
 * Shared benchmark plumbing: the BENCH line format, paired rounds against a same-run baseline,
 * medians, percentiles and heap measurement. Benchmarks are reports, never CI gates (GUIDE rule 19).
 */

/** One result line. `ratio` is candidate ÷ baseline (higher is better for rates, lower for sizes). */
export interface BenchLine {
  readonly case: string
  readonly value: number
  readonly unit: string
  readonly baseline: number | null
  readonly ratio: number | null
  readonly [extra: string]: unknown
}

/** Prints one `BENCH {...}` line on stdout; everything else the harness says goes to stderr. */
export function report(line: BenchLine): void {
  process.stdout.write(`BENCH ${JSON.stringify(line)}\n`)
}

/** Progress and context for humans, kept off stdout so BENCH lines stay machine-readable. */
export function note(text: string): void {
  process.stderr.write(`# ${text}\n`)
}

export function now(): number {
  return performance.now()
}

/** Wall-clock and process CPU time (all threads: GC helpers included) of one timed section. */
export interface Timing {
  readonly wallMs: number
  readonly cpuMs: number
}

/**
 * Starts timing; call the result to stop. CPU time is what makes figures comparable on a shared
 * machine: when another process takes a core, wall time grows but our CPU time does not.
 */
export function startTiming(): () => Timing {
  const wall = performance.now()
  const cpu = process.cpuUsage()
  return () => {
    const used = process.cpuUsage(cpu)
    return { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000 }
  }
}

/** A rate measured both ways: per wall-clock second and per CPU second. */
export interface Rate {
  readonly perSecond: number
  readonly perCpuSecond: number
}

export function rate(count: number, timing: Timing): Rate {
  return { perSecond: count / (timing.wallMs / 1000), perCpuSecond: count / (timing.cpuMs / 1000) }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** Nearest-rank percentile of an ascending-sorted sample; `p` in (0, 100]. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

/** Rounds to `digits` significant digits so BENCH lines stay readable. */
export function round(value: number, digits = 4): number {
  if (!Number.isFinite(value) || value === 0) return value
  return Number(value.toPrecision(digits))
}

/** Lets timers, I/O and setImmediate callbacks run: a full event-loop turn. */
export function yieldMacrotask(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve))
}

const gcFunction = (globalThis as { gc?: () => void }).gc

export function hasGc(): boolean {
  return typeof gcFunction === 'function'
}

/** Full collection (twice: the first pass can leave weak/finalizable objects for the second). */
export function collect(): void {
  if (gcFunction === undefined) return
  gcFunction()
  gcFunction()
}

/** Heap in use after a full collection; needs `node --expose-gc` to mean anything. */
export function heapAfterGc(): number {
  collect()
  return process.memoryUsage().heapUsed
}

/** What a paired run measured: one candidate and one baseline figure per round. */
export interface Paired<T> {
  readonly candidate: T[]
  readonly baseline: T[]
}

/**
 * Runs candidate and baseline `rounds` times, alternating which goes first (ABBA) so drift in
 * machine load (other engineers share these 2 cores) hits both alike.
 *
 * `collectBefore` forces a full GC before every run; only heap-measuring cases want it. Elsewhere it
 * distorts the steady state it is meant to protect: a forced full GC shrinks the young generation
 * and ages bytecode, and the next run pays for it (troupe's ask ping-pong ran at about half speed
 * after one, the array-queue baseline much less so).
 */
export async function paired<T>(rounds: number, candidate: () => Promise<T>, baseline: () => Promise<T>, collectBefore = false): Promise<Paired<T>> {
  const out: Paired<T> = { candidate: [], baseline: [] }
  for (let round = 0; round < rounds; round++) {
    const candidateFirst = round % 2 === 0
    if (collectBefore) collect()
    if (candidateFirst) out.candidate.push(await candidate())
    else out.baseline.push(await baseline())
    if (collectBefore) collect()
    if (candidateFirst) out.baseline.push(await baseline())
    else out.candidate.push(await candidate())
  }
  return out
}

/**
 * Median of the per-round ratios: each round's pair ran back to back under the same load, so this
 * is steadier on a shared machine than the ratio of the two medians.
 */
export function pairedRatio(candidate: readonly number[], baseline: readonly number[]): number {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(candidate.length, baseline.length); i++) ratios.push((candidate[i] as number) / (baseline[i] as number))
  return median(ratios)
}

/** Throws when a benchmark's own bookkeeping disagrees: a fast wrong answer is not a result. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`benchmark self-check failed: ${message}`)
}

/** What the command line asked of a suite. */
export interface RunOptions {
  /** Case names to run (`npm run bench -- core.ask`); null runs them all. */
  readonly only: ReadonlySet<string> | null
}

/** A named group of cases (`npm run bench -- <name>`). */
export interface Suite {
  readonly description: string
  /** Case names, for `--list` and for checking `<suite>.<case>` arguments. */
  readonly cases: readonly string[]
  /**
   * Run each case in a fresh process. For GC-heavy cases: what one case leaves in the heap (old
   * generation size, allocation-site pretenuring decisions) changed another's figures by up to 4×.
   */
  readonly isolateCases?: boolean
  run(options: RunOptions): Promise<void>
}
