/**
 * The per-stage breakdown of one-at-a-time commits in the raft-nats benchmark: joins the stage
 * timestamps the three server processes stamped (test/cluster/fixtures/raftStages.ts) by log index,
 * follows each commit along the follower whose answer completed the quorum, and reports each
 * segment's p50 and mean. Segments telescope: their means add up to the mean commit latency.
 */
import { percentile, round } from './harness.ts'

type Stages = Record<string, number>

/** Segment name → [from stage, to stage]; `q` is the quorum follower, F its stamps, L the leader's. */
const SEGMENTS: readonly (readonly [string, (l: Stages, f: Stages, q: string) => number])[] = [
  ['leader: propose → append handed to transport', (l, _f, q) => (l[`append>${q}`] as number) - (l['propose'] as number)],
  ['leader: append handed → frame published', (l, _f, q) => (l[`frameOut>${q}`] as number) - (l[`append>${q}`] as number)],
  ['NATS leader → follower (frame out → frame in)', (l, f, q) => (f['frameIn'] as number) - (l[`frameOut>${q}`] as number)],
  ['follower: frame in → Raft step', (_l, f) => (f['recv'] as number) - (f['frameIn'] as number)],
  ['follower: step → persist start', (_l, f) => (f['persistStart'] as number) - (f['recv'] as number)],
  ['follower: persist (write + fdatasync)', (_l, f) => (f['persistEnd'] as number) - (f['persistStart'] as number)],
  ['follower: persisted → response handed', (_l, f) => (f['respSend'] as number) - (f['persistEnd'] as number)],
  ['follower: response handed → frame published', (_l, f) => (f['frameOut'] as number) - (f['respSend'] as number)],
  ['NATS follower → leader (frame out → frame in)', (l, f, q) => (l[`frameIn<${q}`] as number) - (f['frameOut'] as number)],
  ['leader: frame in → Raft step', (l, _f, q) => (l[`resp<${q}`] as number) - (l[`frameIn<${q}`] as number)],
  ['leader: response → applied (commit, own fsync if later)', (l, _f, q) => (l['apply'] as number) - (l[`resp<${q}`] as number)],
  ['leader: applied → propose resolved', (l) => (l['done'] as number) - (l['apply'] as number)],
]

/** Side figures: not on the path, but they say why a segment is long. */
const ASIDE: readonly (readonly [string, (l: Stages) => number])[] = [
  ['leader: propose → own persist start', (l) => (l['persistStart'] as number) - (l['propose'] as number)],
  ['leader: own persist (write + fdatasync)', (l) => (l['persistEnd'] as number) - (l['persistStart'] as number)],
  ['leader: own persist end → applied', (l) => (l['apply'] as number) - (l['persistEnd'] as number)],
]

export interface StageRow {
  readonly stage: string
  readonly p50: number
  readonly mean: number
}

export interface Breakdown {
  readonly commits: number
  readonly total: StageRow
  readonly path: readonly StageRow[]
  readonly aside: readonly StageRow[]
}

function row(stage: string, samples: number[]): StageRow {
  const sorted = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)
  return { stage, p50: round(percentile(sorted, 50)), mean: round(mean) }
}

/** `byNode`: each process's stamps by index; `leader` its id. Commits missing a stamp (a resend, a heartbeat's commit) are left out. */
export function breakdown(leader: string, byNode: Readonly<Record<string, Readonly<Record<string, Stages>>>>, from: number, to: number): Breakdown {
  const followers = Object.keys(byNode).filter((id) => id !== leader)
  const path: number[][] = SEGMENTS.map(() => [])
  const aside: number[][] = ASIDE.map(() => [])
  const totals: number[] = []
  for (let i = from; i <= to; i++) {
    const l = byNode[leader]?.[i]
    if (l === undefined || l['done'] === undefined || l['propose'] === undefined) continue
    // The follower whose answer reached the leader first made the quorum of three.
    let q: string | null = null
    for (const f of followers) {
      const at = l[`resp<${f}`]
      if (at !== undefined && (q === null || at < (l[`resp<${q}`] as number))) q = f
    }
    const f = q === null ? undefined : byNode[q]?.[i]
    if (q === null || f === undefined) continue
    const values = SEGMENTS.map(([, seg]) => seg(l, f, q))
    if (!values.every((v) => Number.isFinite(v))) continue
    values.forEach((v, k) => (path[k] as number[]).push(v))
    ASIDE.forEach(([, seg], k) => (aside[k] as number[]).push(seg(l)))
    totals.push((l['done'] as number) - (l['propose'] as number))
  }
  return {
    commits: totals.length,
    total: row('propose → resolved', totals),
    path: SEGMENTS.map(([name], k) => row(name, path[k] as number[])),
    aside: ASIDE.map(([name], k) => row(name, aside[k] as number[])),
  }
}

/** Lines for the bench output: the evidence of where a commit's time goes. */
export function formatBreakdown(b: Breakdown): string[] {
  const pad = Math.max(...[...b.path, ...b.aside].map((r) => r.stage.length)) + 2
  const line = (r: StageRow): string => `  ${r.stage.padEnd(pad)} p50 ${r.p50.toFixed(3).padStart(7)} ms   mean ${r.mean.toFixed(3).padStart(7)} ms`
  return [
    `commit path by stage (${b.commits} one-at-a-time commits, along the follower that completed the quorum; means add up to the total's mean):`,
    ...b.path.map(line),
    line(b.total),
    'aside (the leader\'s own fsync runs in parallel with replication):',
    ...b.aside.map(line),
  ]
}
