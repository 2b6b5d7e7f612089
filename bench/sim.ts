/**
 * Deterministic simulation throughput (issue 4): simulated message deliveries per second and seeds
 * per second for a 5-node scenario, each next to the same actors on the real dispatcher in one
 * system (the baseline: what the work costs without simulation).
 *
 * The workload is a token ring: every node runs a ring of relays; tokens hop relay to relay, and
 * every REMOTE_EVERY-th hop crosses to the next node through Remoting over the simulated network
 * (encoded, copied, delayed by a seeded latency). In the baseline all relays live in one real
 * system, so the cross-node hops are local tells: the ratio prices the simulator and the wire.
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import { Simulation, SimulatedCluster } from '../testing/index.ts'
import { check, median, note, paired, pairedRatio, report, round, startTiming, type Paired, type Suite, type Timing } from './harness.ts'

const NODES = 5
const RELAYS_PER_NODE = 20
/** Every this-many hops a token crosses to the next node. */
const REMOTE_EVERY = 10
/** An ask from the driver that may wait on a whole case: never a real timeout. */
const LONG_ASK = { timeoutMs: 600_000 }

interface Tally {
  done: number
}

interface RelayProtocol {
  wire(next: ActorRef<RelayProtocol>, remote: ActorRef<RelayProtocol>): void
  pass(hopsLeft: number): void
}

class Relay extends Actor<RelayProtocol> implements RelayProtocol {
  private next: ActorRef<RelayProtocol> | null = null
  private remote: ActorRef<RelayProtocol> | null = null
  private readonly tally: Tally
  constructor(tally: Tally) {
    super()
    this.tally = tally
  }
  wire(next: ActorRef<RelayProtocol>, remote: ActorRef<RelayProtocol>): void {
    this.next = next
    this.remote = remote
  }
  pass(hopsLeft: number): void {
    if (hopsLeft === 0) {
      this.tally.done++
      return
    }
    const to = hopsLeft % REMOTE_EVERY === 0 ? this.remote : this.next
    ;(to as ActorRef<RelayProtocol>).tell('pass', hopsLeft - 1)
  }
}

interface Workload {
  readonly tokens: number
  readonly hops: number
}

/** Wires rings: relay i of node n -> relay i+1 of node n (local), and -> relay i of node n+1 (remote). */
function wire(rings: ActorRef<RelayProtocol>[][], remoteOf: (from: number, ref: ActorRef<RelayProtocol>) => ActorRef<RelayProtocol>): void {
  for (let n = 0; n < rings.length; n++) {
    const ring = rings[n] as ActorRef<RelayProtocol>[]
    const nextRing = rings[(n + 1) % rings.length] as ActorRef<RelayProtocol>[]
    for (let i = 0; i < ring.length; i++) {
      const next = ring[(i + 1) % ring.length] as ActorRef<RelayProtocol>
      ;(ring[i] as ActorRef<RelayProtocol>).tell('wire', next, remoteOf(n, nextRing[i] as ActorRef<RelayProtocol>))
    }
  }
}

function inject(rings: ActorRef<RelayProtocol>[][], workload: Workload): void {
  for (let t = 0; t < workload.tokens; t++) {
    const ring = rings[t % rings.length] as ActorRef<RelayProtocol>[]
    ;(ring[(t * 7) % ring.length] as ActorRef<RelayProtocol>).tell('pass', workload.hops)
  }
}

interface SimRun {
  readonly timing: Timing
  readonly deliveries: number
  readonly remoteFrames: number
  readonly hash: string
  readonly virtualMs: number
}

/** The workload on a fresh 5-node simulated cluster; times the run only (not the build). */
async function simulated(seed: number, workload: Workload): Promise<SimRun> {
  const sim = new Simulation({ seed })
  const tally: Tally = { done: 0 }
  const cluster = new SimulatedCluster(sim, {
    nodes: NODES,
    network: { latency: { minMs: 1, maxMs: 5 } },
    boot(system) {
      for (let i = 0; i < RELAYS_PER_NODE; i++) system.spawn(Relay, { name: `r${i}`, args: [tally] })
    },
  })
  const rings = cluster.nodes.map((node) => Array.from({ length: RELAYS_PER_NODE }, (_, i) => node.system.resolvePath<RelayProtocol>(`/user/r${i}`) as ActorRef<RelayProtocol>))
  wire(rings, (from, ref) => cluster.ref(`n${from + 1}`, ref))
  await sim.runUntilIdle()
  const before = sim.stats.deliveries
  const stop = startTiming()
  inject(rings, workload)
  await sim.runUntil(() => tally.done === workload.tokens, 3_600_000)
  const timing = stop()
  check(tally.done === workload.tokens, `simulated ring finished ${tally.done} of ${workload.tokens} tokens`)
  const deliveries = sim.stats.deliveries - before
  check(deliveries === workload.tokens * (workload.hops + 1), `simulated ring delivered ${deliveries}, expected ${workload.tokens * (workload.hops + 1)}`)
  return { timing, deliveries, remoteFrames: cluster.network.stats.delivered, hash: sim.traceHash, virtualMs: sim.now }
}

interface RealRun {
  readonly timing: Timing
  readonly deliveries: number
}

/** The same relays in one real system (RealScheduler): all hops local. */
async function real(workload: Workload): Promise<RealRun> {
  const system = ActorSystem.create({ name: 'bench-sim-baseline' })
  const tally: Tally = { done: 0 }
  const rings = Array.from({ length: NODES }, (_, n) => Array.from({ length: RELAYS_PER_NODE }, (_, i) => system.spawn(Relay, { name: `n${n}-r${i}`, args: [tally] })))
  wire(rings, (_from, ref) => ref)
  // A round trip through the last relay wired: every wire message before it has been handled.
  await (rings[NODES - 1]?.[RELAYS_PER_NODE - 1] as ActorRef<RelayProtocol>).askWith(LONG_ASK, 'pass', 1)
  tally.done = 0
  const stop = startTiming()
  inject(rings, workload)
  while (tally.done < workload.tokens) await new Promise<void>((resolve) => setImmediate(resolve))
  const timing = stop()
  await system.terminate()
  return { timing, deliveries: workload.tokens * (workload.hops + 1) }
}

function perSecond(count: number, timing: Timing): { perSecond: number; perCpuSecond: number } {
  return { perSecond: count / (timing.wallMs / 1000), perCpuSecond: count / (timing.cpuMs / 1000) }
}

function line(name: string, unit: string, runs: Paired<{ perSecond: number; perCpuSecond: number }>, extra: Record<string, unknown>): void {
  const wall = runs.candidate.map((r) => r.perSecond)
  const baseWall = runs.baseline.map((r) => r.perSecond)
  report({
    case: name,
    value: round(median(wall)),
    unit,
    baseline: round(median(baseWall)),
    ratio: round(pairedRatio(wall, baseWall), 3),
    cpuRatio: round(
      pairedRatio(
        runs.candidate.map((r) => r.perCpuSecond),
        runs.baseline.map((r) => r.perCpuSecond),
      ),
      3,
    ),
    valuePerCpuSecond: round(median(runs.candidate.map((r) => r.perCpuSecond))),
    ...extra,
    rounds: wall.map((v) => round(v, 3)),
    baselineRounds: baseWall.map((v) => round(v, 3)),
  })
}

const DELIVERY_WORKLOAD: Workload = { tokens: 2000, hops: 500 }
/** A small scenario per seed: build 5 nodes, run a short workload, compare nothing but time. */
const SEED_WORKLOAD: Workload = { tokens: 50, hops: 40 }
const SEEDS_PER_ROUND = 100

interface Case {
  readonly name: string
  warmUp(): Promise<void>
  measure(): Promise<void>
}

const cases: readonly Case[] = [
  {
    name: 'deliveries',
    async warmUp() {
      for (let i = 0; i < 2; i++) {
        await simulated(1, { tokens: 500, hops: 200 })
        await real({ tokens: 500, hops: 200 })
      }
    },
    async measure() {
      const { tokens, hops } = DELIVERY_WORKLOAD
      note(`sim.deliveries: ${NODES} nodes x ${RELAYS_PER_NODE} relays, ${tokens} tokens x ${hops} hops, 1 hop in ${REMOTE_EVERY} crosses nodes`)
      let sample: SimRun | null = null
      let seed = 1
      const runs = await paired(
        5,
        async () => {
          const result = await simulated(seed++, DELIVERY_WORKLOAD)
          sample ??= result
          return perSecond(result.deliveries, result.timing)
        },
        async () => {
          const result = await real(DELIVERY_WORKLOAD)
          return perSecond(result.deliveries, result.timing)
        },
      )
      // Determinism self-check: seed 1 again gives the run it gave the first time.
      const again = await simulated(1, DELIVERY_WORKLOAD)
      const first = sample as SimRun | null
      check(first !== null && again.hash === first.hash, 'seed 1 did not replay to the same trace hash')
      line('sim.deliveries', 'deliveries/s', runs, {
        nodes: NODES,
        deliveriesPerRun: first?.deliveries,
        crossNodeFramesPerRun: first?.remoteFrames,
        virtualMsPerRun: first?.virtualMs,
        targetValue: 1_000_000,
        baselineIs: 'the same relays on RealScheduler in one system (all hops local)',
      })
    },
  },
  {
    name: 'seeds',
    async warmUp() {
      for (let i = 0; i < 20; i++) await simulated(1000 + i, SEED_WORKLOAD)
      for (let i = 0; i < 20; i++) await real(SEED_WORKLOAD)
    },
    async measure() {
      note(`sim.seeds: ${SEEDS_PER_ROUND} seeds per round, each a fresh ${NODES}-node cluster running ${SEED_WORKLOAD.tokens} tokens x ${SEED_WORKLOAD.hops} hops`)
      let next = 1
      const runs = await paired(
        5,
        async () => {
          const stop = startTiming()
          for (let i = 0; i < SEEDS_PER_ROUND; i++) await simulated(next++, SEED_WORKLOAD)
          return perSecond(SEEDS_PER_ROUND, stop())
        },
        async () => {
          const stop = startTiming()
          for (let i = 0; i < SEEDS_PER_ROUND; i++) await real(SEED_WORKLOAD)
          return perSecond(SEEDS_PER_ROUND, stop())
        },
      )
      line('sim.seeds', 'seeds/s', runs, {
        nodes: NODES,
        deliveriesPerSeed: SEED_WORKLOAD.tokens * (SEED_WORKLOAD.hops + 1),
        baselineIs: 'the same workload in a fresh real system per run',
      })
    },
  },
]

export const suite: Suite = {
  description: 'simulated deliveries/s and seeds/s on a 5-node simulated cluster, against the same actors on the real dispatcher',
  cases: cases.map((c) => c.name),
  async run({ only }) {
    const selected = cases.filter((c) => only === null || only.has(c.name))
    note(`sim: warming up ${selected.map((c) => c.name).join(', ')}`)
    for (const c of selected) await c.warmUp()
    for (const c of selected) await c.measure()
  },
}
