/**
 * The core tell/ask/spawn cases on nact (https://nact.xyz), each next to the same-run array-queue
 * baseline and Troupe at the same size. Run through `npm run bench -- nact` (which installs nact
 * here on demand); this folder is outside the main typecheck, lint and CI.
 *
 * nact runs every message in its own setImmediate and copies a context (a Map of child refs
 * included) per message, so its cases use smaller sizes than core's; every figure is a rate, and
 * each line carries its `n`.
 */
import { dispatch, query, spawn, spawnStateless, start, stop } from 'nact'
import { askBaseline, askResult, askTroupe, spawnBaseline, spawnTroupe, tellBaseline, tellTroupe } from '../core.ts'
import { check, hasGc, heapAfterGc, median, note, now, pairedRatio, rate, report, round, startTiming, type Rate } from '../harness.ts'

const TELL_N = 200_000
const ASK_N = 20_000
const SPAWN_N = 100_000
const ROUNDS = 3
const QUERY_TIMEOUT_MS = 600_000

type Msg = { type: 'inc'; by: number } | { type: 'count' }

/**
 * One-way dispatch to a counting actor. nact's mailbox is unbounded and drains one message per
 * macrotask, so the sender keeps it bounded with a query round trip every 1024 messages (the
 * issue's alternative to yielding a macrotask, which would let nact handle a single message).
 */
async function tellNact(n: number): Promise<Rate> {
  const system = start()
  const counter = spawn(system, (state: number = 0, msg: Msg, ctx: any) => {
    if (msg.type === 'inc') return state + msg.by
    dispatch(ctx.sender, state)
    return state
  })
  const timing = startTiming()
  for (let i = 0; i < n; i++) {
    dispatch(counter, { type: 'inc', by: 1 })
    if ((i & 1023) === 1023) await query(counter, { type: 'count' }, QUERY_TIMEOUT_MS)
  }
  const total = await query(counter, { type: 'count' }, QUERY_TIMEOUT_MS)
  const elapsed = timing()
  check(total === n, `nact counter saw ${total} of ${n}`)
  stop(system)
  return rate(n, elapsed)
}

/** Actor-to-actor ping-pong: the pinger queries the ponger `n` times in sequence. */
async function askNact(n: number) {
  const system = start()
  const ponger = spawnStateless(system, (msg: number, ctx: any) => dispatch(ctx.sender, msg))
  const latencies = new Float64Array(n)
  const pinger = spawnStateless(system, async (msg: { n: number }, ctx: any) => {
    for (let i = 0; i < msg.n; i++) {
      const started = now()
      const reply = await query(ponger, i, QUERY_TIMEOUT_MS)
      latencies[i] = (now() - started) * 1000
      if (reply !== i) throw new Error(`ping ${i} answered ${reply}`)
    }
    dispatch(ctx.sender, 'done')
  })
  const timing = startTiming()
  await query(pinger, { n }, QUERY_TIMEOUT_MS)
  const elapsed = timing()
  stop(system)
  return askResult(n, elapsed, latencies)
}

async function spawnNact(n: number) {
  const heapBefore = heapAfterGc()
  const system = start()
  const behaviour = (msg: unknown) => msg
  const timing = startTiming()
  for (let i = 0; i < n; i++) spawnStateless(system, behaviour, `a${i}`)
  const elapsed = timing()
  const heapAfter = heapAfterGc()
  stop(system)
  return { ...rate(n, elapsed), bytesPerActor: (heapAfter - heapBefore) / n }
}

/** Rounds of nact, baseline and troupe, rotating who goes first. */
async function rounds<T extends Rate>(runs: readonly (() => Promise<T>)[]): Promise<T[][]> {
  const out: T[][] = runs.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < runs.length; k++) {
      const i = (k + r) % runs.length
      out[i]!.push(await runs[i]!())
    }
  }
  return out
}

function line(name: string, unit: string, n: number, [nact, baseline, troupe]: Rate[][], extra: Record<string, unknown> = {}) {
  const wall = (rs: Rate[]) => rs.map((r) => r.perSecond)
  const cpu = (rs: Rate[]) => rs.map((r) => r.perCpuSecond)
  report({
    case: name,
    value: round(median(wall(nact!))),
    unit,
    baseline: round(median(wall(baseline!))),
    ratio: round(pairedRatio(wall(nact!), wall(baseline!)), 3),
    cpuRatio: round(pairedRatio(cpu(nact!), cpu(baseline!)), 3),
    troupe: round(median(wall(troupe!))),
    /** nact ÷ troupe, per round: above 1 means nact is faster. */
    vsTroupe: round(pairedRatio(wall(nact!), wall(troupe!)), 3),
    n,
    ...extra,
  })
}

const only = new Set(process.argv.slice(2))
const wants = (name: string) => only.size === 0 || only.has(name)

if (!hasGc()) note('global.gc is missing: heap figures need node --expose-gc')

if (wants('tell')) {
  note(`nact.tell: ${TELL_N} one-way messages`)
  await tellNact(20_000)
  await tellTroupe(100_000)
  await tellBaseline(100_000)
  line('nact.tell', 'msgs/s', TELL_N, await rounds([() => tellNact(TELL_N), () => tellBaseline(TELL_N), () => tellTroupe(TELL_N)]))
}

if (wants('ask')) {
  note(`nact.ask: ${ASK_N} actor-to-actor round trips`)
  await askNact(2_000)
  await askTroupe(20_000)
  await askBaseline(20_000)
  const results = await rounds([() => askNact(ASK_N), () => askBaseline(ASK_N), () => askTroupe(ASK_N)])
  line('nact.ask', 'round trips/s', ASK_N, results, {
    p50: round(median(results[0]!.map((r) => r.p50)), 3),
    p99: round(median(results[0]!.map((r) => r.p99)), 3),
    latencyUnit: 'us',
  })
}

if (wants('spawn')) {
  note(`nact.spawn: ${SPAWN_N} idle actors`)
  await spawnNact(10_000)
  await spawnTroupe(10_000)
  await spawnBaseline(10_000)
  const results = await rounds([() => spawnNact(SPAWN_N), () => spawnBaseline(SPAWN_N), () => spawnTroupe(SPAWN_N)])
  line('nact.spawn', 'spawns/s', SPAWN_N, results, {
    heapBytesPerActor: hasGc() ? round(median(results[0]!.map((r) => r.bytesPerActor)), 3) : null,
    baselineHeapBytesPerActor: hasGc() ? round(median(results[1]!.map((r) => r.bytesPerActor)), 3) : null,
    troupeHeapBytesPerActor: hasGc() ? round(median(results[2]!.map((r) => r.bytesPerActor)), 3) : null,
  })
}
