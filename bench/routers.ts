/**
 * Routers (issue 12): routed tell throughput per strategy through a RouterRef, next to direct tells
 * to the same routees in the same pattern (refs[i % 4]), measured in the same run, ABBA rounds. The
 * difference is the router's own cost: selecting a routee on the sender's turn. Target: round-robin
 * ≥ 0.8 × direct. Broadcast and scatter-gather tells reach every routee: their baseline is the same
 * fan-out by hand. Scatter-gather and tail-chopping asks are timed against direct asks (ROUTEES in
 * flight).
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import {
  broadcast,
  consistentHashing,
  powerOfTwoChoices,
  randomRouting,
  roundRobin,
  scatterGatherFirstCompleted,
  smallestMailbox,
  spawnGroup,
  staticRoutees,
  tailChopping,
  type RoutingLogic,
} from '../supervision/index.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, yieldMacrotask, type Rate, type Suite } from './harness.ts'

const N = 500_000
const ASK_N = 50_000
const ROUTEES = 4
/** The sender yields a macrotask every YIELD_EVERY messages: mailboxes never fill. */
const YIELD_EVERY = 1024
let systems = 0

interface CounterProtocol {
  hit(key: number): void
  echo(key: number): number
}
class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  count = 0
  hit(_key: number): void {
    this.count++
  }
  echo(key: number): number {
    this.count++
    return key
  }
}

interface Setup {
  readonly system: ActorSystem
  readonly routees: ActorRef<CounterProtocol>[]
  readonly total: () => number
}

function setup(): Setup {
  const system = ActorSystem.create({ name: `bench-routers-${systems++}` })
  const routees = Array.from({ length: ROUTEES }, () => system.spawn(Counter))
  const total = () => routees.reduce((sum, r) => sum + ((r.cell as { actor: Counter }).actor.count), 0)
  return { system, routees, total }
}

async function waitCount(s: Setup, expected: number): Promise<void> {
  while (s.total() < expected) await yieldMacrotask()
  check(s.total() === expected, `counted ${s.total()}, expected ${expected}`)
}

/** `fanOut`: deliveries per routed message (every routee for broadcast-like logics). */
async function routedTell(logic: () => RoutingLogic, fanOut: number): Promise<Rate> {
  const s = setup()
  const router = spawnGroup(s.system, { routees: staticRoutees(s.routees), logic: logic() })
  const stop = startTiming()
  for (let i = 0; i < N; i++) {
    router.tell('hit', i)
    if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) await yieldMacrotask()
  }
  await waitCount(s, N * fanOut)
  const result = rate(N, stop())
  await s.system.terminate()
  return result
}

async function directTell(fanOut: number): Promise<Rate> {
  const s = setup()
  const refs = s.routees
  const stop = startTiming()
  for (let i = 0; i < N; i++) {
    if (fanOut === 1) (refs[i & (ROUTEES - 1)] as ActorRef<CounterProtocol>).tell('hit', i)
    else for (const ref of refs) ref.tell('hit', i)
    if ((i & (YIELD_EVERY - 1)) === YIELD_EVERY - 1) await yieldMacrotask()
  }
  await waitCount(s, N * fanOut)
  const result = rate(N, stop())
  await s.system.terminate()
  return result
}

/** Asks with ROUTEES in flight: each round sends ROUTEES asks and awaits them. */
async function routedAsk(logic: () => RoutingLogic): Promise<Rate> {
  const s = setup()
  const router = spawnGroup(s.system, { routees: staticRoutees(s.routees), logic: logic() })
  const stop = startTiming()
  for (let i = 0; i < ASK_N; i += ROUTEES) {
    const batch: Promise<number>[] = []
    for (let j = 0; j < ROUTEES; j++) batch.push(router.ask('echo', i + j))
    const replies = await Promise.all(batch)
    check(replies[0] === i, 'wrong reply')
  }
  const result = rate(ASK_N, stop())
  await s.system.terminate()
  return result
}

async function directAsk(): Promise<Rate> {
  const s = setup()
  const stop = startTiming()
  for (let i = 0; i < ASK_N; i += ROUTEES) {
    const batch: Promise<number>[] = []
    for (let j = 0; j < ROUTEES; j++) batch.push((s.routees[j] as ActorRef<CounterProtocol>).ask('echo', i + j))
    const replies = await Promise.all(batch)
    check(replies[0] === i, 'wrong reply')
  }
  const result = rate(ASK_N, stop())
  await s.system.terminate()
  return result
}

interface Case {
  readonly name: string
  readonly target?: number
  readonly ask?: boolean
  readonly fanOut?: number
  readonly logic: () => RoutingLogic
}

const cases: readonly Case[] = [
  { name: 'round-robin', logic: roundRobin, target: 0.8 },
  { name: 'random', logic: randomRouting },
  { name: 'consistent-hashing', logic: () => consistentHashing({ key: (_m, args) => String(args[0]) }) },
  { name: 'smallest-mailbox', logic: smallestMailbox },
  { name: 'power-of-two', logic: powerOfTwoChoices },
  { name: 'broadcast', logic: broadcast, fanOut: ROUTEES },
  { name: 'scatter-gather', logic: () => scatterGatherFirstCompleted({ withinMs: 60_000 }), ask: true },
  { name: 'tail-chopping', logic: () => tailChopping({ withinMs: 60_000, intervalMs: 1000 }), ask: true },
]

async function measure(c: Case): Promise<void> {
  const fanOut = c.fanOut ?? 1
  const candidate = c.ask === true ? () => routedAsk(c.logic) : () => routedTell(c.logic, fanOut)
  const baseline = c.ask === true ? () => directAsk() : () => directTell(fanOut)
  // Warm-up at the same size (one pair), then ABBA rounds.
  await candidate()
  await baseline()
  const runs = await paired(4, candidate, baseline)
  const wall = runs.candidate.map((r) => r.perSecond)
  const base = runs.baseline.map((r) => r.perSecond)
  const ratio = pairedRatio(wall, base)
  report({
    case: `routers.${c.name}`,
    value: round(median(wall)),
    unit: c.ask === true ? 'asks/s' : 'routed msgs/s',
    baseline: round(median(base)),
    ratio: round(ratio, 3),
    cpuRatio: round(
      pairedRatio(
        runs.candidate.map((r) => r.perCpuSecond),
        runs.baseline.map((r) => r.perCpuSecond),
      ),
      3,
    ),
    n: c.ask === true ? ASK_N : N,
    routees: ROUTEES,
    deliveriesPerMessage: c.ask === true && c.name === 'scatter-gather' ? ROUTEES : fanOut,
    baselineIs: c.ask === true ? `direct asks, ${ROUTEES} in flight` : fanOut === 1 ? 'direct tells to the same routees, refs[i % 4]' : 'the same fan-out by hand',
    ...(c.target === undefined ? {} : { target: c.target, met: ratio >= c.target }),
    rounds: wall.map((v) => round(v, 3)),
    baselineRounds: base.map((v) => round(v, 3)),
  })
}

export const suite: Suite = {
  description: `routed tell (and ask) per strategy over ${ROUTEES} routees vs direct sends in the same run`,
  cases: cases.map((c) => c.name),
  async run({ only }) {
    for (const c of cases) {
      if (only !== null && !only.has(c.name)) continue
      note(`routers.${c.name}`)
      await measure(c)
    }
  },
}
