/**
 * Deterministic simulation throughput (issues 4 and 13): simulated message deliveries per second on
 * 5 nodes with the disk and clock models on (per-node skew and drift; every cross-node hop appends
 * a record to the node's SimDisk and fsyncs it), seeds per second for a 3-node scenario, each next
 * to the same actors on the real dispatcher in one system (the baseline: what the work costs
 * without simulation), and the overhead of decision recording (the same simulated run with and
 * without `record: true`, as a ratio).
 *
 * The workload is a token ring: every node runs a ring of relays; tokens hop relay to relay, and
 * every REMOTE_EVERY-th hop crosses to the next node through Remoting over the simulated network
 * (encoded, copied, delayed by a seeded latency). In the baseline all relays live in one real
 * system, so the cross-node hops are local tells: the ratio prices the simulator and the wire.
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import { Simulation, SimulatedCluster, type SimDisk } from '../testing/index.ts'
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

const RECORD = new Uint8Array(16)

class Relay extends Actor<RelayProtocol> implements RelayProtocol {
  private next: ActorRef<RelayProtocol> | null = null
  private remote: ActorRef<RelayProtocol> | null = null
  private readonly tally: Tally
  private readonly disk: SimDisk | null
  private readonly file: string
  constructor(tally: Tally, disk: SimDisk | null = null, file = '') {
    super()
    this.tally = tally
    this.disk = disk
    this.file = file
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
    const remote = hopsLeft % REMOTE_EVERY === 0
    if (remote && this.disk !== null) {
      // The disk model on: a cross-node hop is logged durably first (write-ahead, then send).
      this.disk.append(this.file, RECORD)
      this.disk.fsync(this.file)
    }
    ;((remote ? this.remote : this.next) as ActorRef<RelayProtocol>).tell('pass', hopsLeft - 1)
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

interface SimSetup {
  readonly nodes: number
  /** Per-node clock skew and drift, and a durable disk write per cross-node hop. */
  readonly models: boolean
  readonly record: boolean
}

const MODELS_ON: SimSetup = { nodes: NODES, models: true, record: false }

/** The workload on a fresh simulated cluster; times the run only (not the build). */
async function simulated(seed: number, workload: Workload, setup: SimSetup = MODELS_ON): Promise<SimRun> {
  const sim = new Simulation({ seed, record: setup.record, ...(setup.models ? { clocks: { maxSkewMs: 100, maxDriftPpm: 200 } } : {}) })
  const tally: Tally = { done: 0 }
  const cluster = new SimulatedCluster(sim, {
    nodes: setup.nodes,
    network: { latency: { minMs: 1, maxMs: 5 } },
    boot(system, _durable, node) {
      for (let i = 0; i < RELAYS_PER_NODE; i++) system.spawn(Relay, { name: `r${i}`, args: setup.models ? [tally, node.disk, `r${i}.log`] : [tally] })
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
async function real(workload: Workload, nodes = NODES): Promise<RealRun> {
  const system = ActorSystem.create({ name: 'bench-sim-baseline' })
  const tally: Tally = { done: 0 }
  const rings = Array.from({ length: nodes }, (_, n) => Array.from({ length: RELAYS_PER_NODE }, (_, i) => system.spawn(Relay, { name: `n${n}-r${i}`, args: [tally] })))
  wire(rings, (_from, ref) => ref)
  // A round trip through the last relay wired: every wire message before it has been handled.
  await (rings[nodes - 1]?.[RELAYS_PER_NODE - 1] as ActorRef<RelayProtocol>).askWith(LONG_ASK, 'pass', 1)
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
/** A small scenario per seed: build 3 nodes, run a short workload, compare nothing but time. */
const SEED_WORKLOAD: Workload = { tokens: 50, hops: 40 }
const SEED_SETUP: SimSetup = { nodes: 3, models: true, record: false }
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
      note(`sim.deliveries: ${NODES} nodes x ${RELAYS_PER_NODE} relays, ${tokens} tokens x ${hops} hops, 1 hop in ${REMOTE_EVERY} crosses nodes (after a fsynced disk append); clocks skewed and drifting`)
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
        models: 'clock skew+drift, SimDisk append+fsync per cross-node hop',
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
      for (let i = 0; i < 20; i++) await simulated(1000 + i, SEED_WORKLOAD, SEED_SETUP)
      for (let i = 0; i < 20; i++) await real(SEED_WORKLOAD, SEED_SETUP.nodes)
    },
    async measure() {
      note(`sim.seeds: ${SEEDS_PER_ROUND} seeds per round, each a fresh ${SEED_SETUP.nodes}-node cluster (models on) running ${SEED_WORKLOAD.tokens} tokens x ${SEED_WORKLOAD.hops} hops`)
      let next = 1
      const runs = await paired(
        5,
        async () => {
          const stop = startTiming()
          for (let i = 0; i < SEEDS_PER_ROUND; i++) await simulated(next++, SEED_WORKLOAD, SEED_SETUP)
          return perSecond(SEEDS_PER_ROUND, stop())
        },
        async () => {
          const stop = startTiming()
          for (let i = 0; i < SEEDS_PER_ROUND; i++) await real(SEED_WORKLOAD, SEED_SETUP.nodes)
          return perSecond(SEEDS_PER_ROUND, stop())
        },
      )
      line('sim.seeds', 'seeds/s', runs, {
        nodes: SEED_SETUP.nodes,
        deliveriesPerSeed: SEED_WORKLOAD.tokens * (SEED_WORKLOAD.hops + 1),
        baselineIs: 'the same workload in a fresh real system per run',
      })
    },
  },
  {
    name: 'recording',
    async warmUp() {
      for (let i = 0; i < 2; i++) {
        await simulated(1, { tokens: 500, hops: 200 }, { ...MODELS_ON, record: true })
        await simulated(1, { tokens: 500, hops: 200 })
      }
    },
    async measure() {
      note('sim.recording: the deliveries workload with record: true (candidate) against the same seeds without (baseline)')
      let seed = 1
      let recordedSeed = 1
      const runs = await paired(
        5,
        async () => {
          const result = await simulated(recordedSeed++, DELIVERY_WORKLOAD, { ...MODELS_ON, record: true })
          return perSecond(result.deliveries, result.timing)
        },
        async () => {
          const result = await simulated(seed++, DELIVERY_WORKLOAD)
          return perSecond(result.deliveries, result.timing)
        },
      )
      line('sim.recording', 'deliveries/s', runs, { baselineIs: 'the same simulated runs without decision recording (ratio = 1 / overhead)' })
    },
  },
]

export const suite: Suite = {
  description: 'simulated deliveries/s (5 nodes, disk and clock models on) and seeds/s (3 nodes) against the same actors on the real dispatcher; decision-recording overhead',
  cases: cases.map((c) => c.name),
  async run({ only }) {
    const selected = cases.filter((c) => only === null || only.has(c.name))
    note(`sim: warming up ${selected.map((c) => c.name).join(', ')}`)
    for (const c of selected) await c.warmUp()
    for (const c of selected) await c.measure()
  },
}
