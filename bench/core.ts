/**
 * Core runtime cases, each run next to the same workload on the minimal ArrayQueueActor baseline.
 * Sizes are the (1e6 tells, 1e5 ask round trips, 1e6 spawns, 1000 × 1000 fan-out); rounds
 * are few so the suite stays near 30 s on 2 shared cores.
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import { ArrayQueueActor } from './baseline/ArrayQueueActor.ts'
import {
  check,
  hasGc,
  heapAfterGc,
  median,
  note,
  now,
  paired,
  pairedRatio,
  percentile,
  rate,
  report,
  round,
  startTiming,
  yieldMacrotask,
  type Paired,
  type Rate,
  type Suite,
  type Timing,
} from './harness.ts'

/** The sender yields a macrotask after every YIELD_EVERY messages: far below the 10 000 mailbox. */
const YIELD_MASK = 1023

const TELL_N = 1_000_000
/**
 * The one-burst sender: most of a default mailbox (10 000) of tells in one synchronous loop, then an
 * ask (it needs a slot too) that waits until the actor has drained them; BURST_N tells in all.
 */
const BURST = 8_000
const BURST_N = 1_000_000
const ASK_N = 100_000
const SPAWN_N = 1_000_000
const FAN_ACTORS = 1000
const FAN_MESSAGES = 1000

/** An ask from the driver that may wait on a whole case: far beyond any run, never a real timeout. */
const LONG_ASK = { timeoutMs: 600_000 }

let systemCounter = 0
/**
 * `keepAlive: false`: the spawn case drops its system instead of stopping 1e6 actors, and a live
 * system would otherwise hold the process open after the last case.
 */
function newSystem(): ActorSystem {
  return ActorSystem.create({ name: `bench-${systemCounter++}`, keepAlive: false })
}

// ------------------------------------------------------------------ actors under test

interface SinkProtocol {
  inc(by: number): void
  count(): number
}
class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  private n = 0
  inc(by: number): void {
    this.n += by
  }
  count(): number {
    return this.n
  }
}
class BaselineSink extends ArrayQueueActor {
  private n = 0
  inc(by: number): void {
    this.n += by
  }
  count(): number {
    return this.n
  }
}

interface PongProtocol {
  ping(i: number): number
}
class Ponger extends Actor<PongProtocol> implements PongProtocol {
  ping(i: number): number {
    return i
  }
}
class BaselinePonger extends ArrayQueueActor {
  ping(i: number): number {
    return i
  }
}

interface PingProtocol {
  run(n: number, latenciesUs: Float64Array): Promise<void>
}
/** Asks its ponger `n` times in sequence, recording each round trip in µs. */
class Pinger extends Actor<PingProtocol> implements PingProtocol {
  private readonly ponger: ActorRef<PongProtocol>
  constructor(ponger: ActorRef<PongProtocol>) {
    super()
    this.ponger = ponger
  }
  async run(n: number, latenciesUs: Float64Array): Promise<void> {
    for (let i = 0; i < n; i++) {
      const started = now()
      const reply = await this.ponger.ask('ping', i)
      latenciesUs[i] = (now() - started) * 1000
      if (reply !== i) throw new Error(`ping ${i} answered ${reply}`)
    }
  }
}
class BaselinePinger extends ArrayQueueActor {
  private readonly ponger: BaselinePonger
  constructor(ponger: BaselinePonger) {
    super()
    this.ponger = ponger
  }
  async run(n: number, latenciesUs: Float64Array): Promise<void> {
    for (let i = 0; i < n; i++) {
      const started = now()
      const reply = await this.ponger.ask<number>('ping', i)
      latenciesUs[i] = (now() - started) * 1000
      if (reply !== i) throw new Error(`ping ${i} answered ${reply}`)
    }
  }
}

class Idle extends Actor<Record<string, never>> {}
class BaselineIdle extends ArrayQueueActor {}

interface HitProtocol {
  hit(): void
}
/** Calls `done` once it has seen `expected` hits. */
class Hits extends Actor<HitProtocol> implements HitProtocol {
  private n = 0
  private readonly expected: number
  private readonly done: () => void
  constructor(expected: number, done: () => void) {
    super()
    this.expected = expected
    this.done = done
  }
  hit(): void {
    if (++this.n === this.expected) this.done()
  }
}
class BaselineHits extends ArrayQueueActor {
  private n = 0
  private readonly expected: number
  private readonly done: () => void
  constructor(expected: number, done: () => void) {
    super()
    this.expected = expected
    this.done = done
  }
  hit(): void {
    if (++this.n === this.expected) this.done()
  }
}

// ------------------------------------------------------------------ cases

/** One-way tell, steady state: msgs/s. */
export async function tellTroupe(n: number): Promise<Rate> {
  const system = newSystem()
  const sink = system.spawn(Sink)
  const stop = startTiming()
  for (let i = 0; i < n; i++) {
    sink.tell('inc', 1)
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldMacrotask()
  }
  const total = await sink.askWith(LONG_ASK, 'count')
  const timing = stop()
  check(total === n, `sink counted ${total} of ${n}`)
  await system.terminate()
  return rate(n, timing)
}
export async function tellBaseline(n: number): Promise<Rate> {
  const sink = new BaselineSink()
  const stop = startTiming()
  for (let i = 0; i < n; i++) {
    sink.tell('inc', 1)
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldMacrotask()
  }
  const total = await sink.ask<number>('count')
  const timing = stop()
  check(total === n, `sink counted ${total} of ${n}`)
  return rate(n, timing)
}

/** One-way tell in bursts: the sender queues BURST tells without yielding, then waits for them. msgs/s. */
export async function tellBurstTroupe(n: number): Promise<Rate> {
  const system = newSystem()
  const sink = system.spawn(Sink)
  const stop = startTiming()
  let total = 0
  for (let sent = 0; sent < n; sent += BURST) {
    for (let i = 0; i < BURST; i++) sink.tell('inc', 1)
    total = await sink.askWith(LONG_ASK, 'count')
  }
  const timing = stop()
  check(total === n, `sink counted ${total} of ${n}`)
  await system.terminate()
  return rate(n, timing)
}
export async function tellBurstBaseline(n: number): Promise<Rate> {
  const sink = new BaselineSink()
  const stop = startTiming()
  let total = 0
  for (let sent = 0; sent < n; sent += BURST) {
    for (let i = 0; i < BURST; i++) sink.tell('inc', 1)
    total = await sink.ask<number>('count')
  }
  const timing = stop()
  check(total === n, `sink counted ${total} of ${n}`)
  return rate(n, timing)
}

export interface AskResult extends Rate {
  readonly p50: number
  readonly p99: number
}
export function askResult(n: number, timing: Timing, latenciesUs: Float64Array): AskResult {
  latenciesUs.sort()
  return { ...rate(n, timing), p50: percentile(latenciesUs, 50), p99: percentile(latenciesUs, 99) }
}

/** Actor-to-actor ask ping-pong: one round trip in flight at a time. */
export async function askTroupe(n: number): Promise<AskResult> {
  const system = newSystem()
  const ponger = system.spawn(Ponger)
  const pinger = system.spawn(Pinger, { args: [ponger] })
  const latencies = new Float64Array(n)
  const stop = startTiming()
  await pinger.askWith(LONG_ASK, 'run', n, latencies)
  const timing = stop()
  await system.terminate()
  return askResult(n, timing, latencies)
}
export async function askBaseline(n: number): Promise<AskResult> {
  const pinger = new BaselinePinger(new BaselinePonger())
  const latencies = new Float64Array(n)
  const stop = startTiming()
  await pinger.ask('run', n, latencies)
  const timing = stop()
  return askResult(n, timing, latencies)
}

export interface SpawnResult extends Rate {
  readonly bytesPerActor: number
}

/** Spawns `n` idle top-level actors; heap is measured after a full GC with all of them alive. */
export async function spawnTroupe(n: number): Promise<SpawnResult> {
  const heapBefore = heapAfterGc()
  const system = newSystem()
  const stop = startTiming()
  for (let i = 0; i < n; i++) system.spawn(Idle)
  const timing = stop()
  const heapAfter = heapAfterGc()
  // Read after the heap figure so the system (and its actors) is still alive when it is taken.
  check(system.actorCount === n, `system has ${system.actorCount} actors, expected ${n}`)
  // Not terminated: nothing global holds the system, so it is collected with its actors, and 1e6
  // stops are not what this case measures.
  return { ...rate(n, timing), bytesPerActor: (heapAfter - heapBefore) / n }
}
export async function spawnBaseline(n: number): Promise<SpawnResult> {
  const heapBefore = heapAfterGc()
  const actors: BaselineIdle[] = []
  const stop = startTiming()
  for (let i = 0; i < n; i++) actors.push(new BaselineIdle())
  const timing = stop()
  const heapAfter = heapAfterGc()
  check(actors.length === n, `made ${actors.length} actors, expected ${n}`)
  return { ...rate(n, timing), bytesPerActor: (heapAfter - heapBefore) / n }
}

/** Resolves once `count` actors have called `done`. */
function completion(count: number): { done: () => void; finished: Promise<void> } {
  let remaining = count
  let resolve!: () => void
  const finished = new Promise<void>((r) => {
    resolve = r
  })
  return {
    done: () => {
      if (--remaining === 0) resolve()
    },
    finished,
  }
}

/** One sender, `actors` targets, `messages` each, round-robin: total msgs/s. */
async function fanOutTroupe(actors: number, messages: number): Promise<Rate> {
  const system = newSystem()
  const { done, finished } = completion(actors)
  const refs: ActorRef<HitProtocol>[] = []
  for (let a = 0; a < actors; a++) refs.push(system.spawn(Hits, { args: [messages, done] }))
  const stop = startTiming()
  let sent = 0
  for (let m = 0; m < messages; m++) {
    for (let a = 0; a < actors; a++) {
      ;(refs[a] as ActorRef<HitProtocol>).tell('hit')
      if ((++sent & YIELD_MASK) === 0) await yieldMacrotask()
    }
  }
  await finished
  const timing = stop()
  await system.terminate()
  return rate(sent, timing)
}
async function fanOutBaseline(actors: number, messages: number): Promise<Rate> {
  const { done, finished } = completion(actors)
  const targets: BaselineHits[] = []
  for (let a = 0; a < actors; a++) targets.push(new BaselineHits(messages, done))
  const stop = startTiming()
  let sent = 0
  for (let m = 0; m < messages; m++) {
    for (let a = 0; a < actors; a++) {
      ;(targets[a] as BaselineHits).tell('hit')
      if ((++sent & YIELD_MASK) === 0) await yieldMacrotask()
    }
  }
  await finished
  const timing = stop()
  return rate(sent, timing)
}

// ------------------------------------------------------------------ suite

/**
 * `value`/`baseline` are medians of wall-clock rates; `ratio` is the median of per-round wall
 * ratios; `cpuRatio` the same per CPU second, the steadier figure when other processes share the
 * cores.
 */
function rateLine(name: string, unit: string, runs: Paired<Rate>, extra: Record<string, unknown> = {}): void {
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
    ...extra,
    rounds: wall.map((v) => round(v, 3)),
    baselineRounds: baseWall.map((v) => round(v, 3)),
  })
}

interface Case {
  readonly name: string
  /** Runs both sides at a reduced size so V8 has optimised their hot paths before timing. */
  warmUp(): Promise<void>
  measure(): Promise<void>
}

const cases: readonly Case[] = [
  {
    name: 'tell',
    async warmUp() {
      for (let i = 0; i < 3; i++) {
        await tellTroupe(200_000)
        await tellBaseline(200_000)
      }
    },
    async measure() {
      note(`core.tell: ${TELL_N} one-way tells, sender yields every ${YIELD_MASK + 1}`)
      const runs = await paired(7, () => tellTroupe(TELL_N), () => tellBaseline(TELL_N))
      rateLine('core.tell', 'msgs/s', runs, { n: TELL_N, targetRatio: 0.6 })
    },
  },
  {
    name: 'tell-burst',
    async warmUp() {
      for (let i = 0; i < 3; i++) {
        await tellBurstTroupe(200_000)
        await tellBurstBaseline(200_000)
      }
    },
    async measure() {
      note(`core.tell-burst: ${BURST_N} one-way tells in synchronous bursts of ${BURST} (most of a default mailbox), each then awaited`)
      const runs = await paired(7, () => tellBurstTroupe(BURST_N), () => tellBurstBaseline(BURST_N))
      rateLine('core.tell-burst', 'msgs/s', runs, { n: BURST_N, targetRatio: 0.6 })
    },
  },
  {
    name: 'ask',
    async warmUp() {
      for (let i = 0; i < 5; i++) {
        await askTroupe(40_000)
        await askBaseline(40_000)
      }
    },
    async measure() {
      note(`core.ask: ${ASK_N} actor-to-actor ask round trips, one in flight`)
      const runs = await paired(7, () => askTroupe(ASK_N), () => askBaseline(ASK_N))
      rateLine('core.ask', 'round trips/s', runs, {
        n: ASK_N,
        targetRatio: 0.7,
        targetP99Ratio: 2,
        p99Ratio: round(median(runs.candidate.map((r, i) => r.p99 / (runs.baseline[i] as AskResult).p99)), 3),
        p50: round(median(runs.candidate.map((r) => r.p50)), 3),
        p99: round(median(runs.candidate.map((r) => r.p99)), 3),
        baselineP50: round(median(runs.baseline.map((r) => r.p50)), 3),
        baselineP99: round(median(runs.baseline.map((r) => r.p99)), 3),
        latencyUnit: 'us',
      })
    },
  },
  {
    name: 'spawn',
    async warmUp() {
      for (let i = 0; i < 2; i++) {
        await spawnTroupe(100_000)
        await spawnBaseline(100_000)
      }
    },
    async measure() {
      note(`core.spawn: ${SPAWN_N} idle top-level actors`)
      const runs = await paired(3, () => spawnTroupe(SPAWN_N), () => spawnBaseline(SPAWN_N), true)
      const bytes = runs.candidate.map((r) => r.bytesPerActor)
      const baselineBytes = runs.baseline.map((r) => r.bytesPerActor)
      rateLine('core.spawn', 'spawns/s', runs, {
        n: SPAWN_N,
        targetValue: 1_500_000,
        heapBytesPerActor: hasGc() ? round(median(bytes), 3) : null,
        baselineHeapBytesPerActor: hasGc() ? round(median(baselineBytes), 3) : null,
        targetHeapBytesPerActor: 192,
      })
    },
  },
  {
    name: 'fanout',
    async warmUp() {
      for (let i = 0; i < 2; i++) {
        await fanOutTroupe(100, 1000)
        await fanOutBaseline(100, 1000)
      }
    },
    async measure() {
      note(`core.fanout: ${FAN_ACTORS} actors x ${FAN_MESSAGES} messages, round-robin, sender yields every ${YIELD_MASK + 1}`)
      const runs = await paired(5, () => fanOutTroupe(FAN_ACTORS, FAN_MESSAGES), () => fanOutBaseline(FAN_ACTORS, FAN_MESSAGES))
      rateLine('core.fanout', 'msgs/s', runs, { actors: FAN_ACTORS, messagesPerActor: FAN_MESSAGES })
    },
  },
]

export const suite: Suite = {
  description: 'tell, ask ping-pong, spawn and fan-out against the minimal array-queue actor',
  cases: cases.map((c) => c.name),
  isolateCases: true,
  async run({ only }) {
    if (!hasGc()) note('global.gc is missing: run through `npm run bench` (node --expose-gc) for heap figures')
    const selected = cases.filter((c) => only === null || only.has(c.name))
    // Warm every selected case before timing any (when several run in one process), so no case is
    // timed while another's first runs are still teaching V8 the shared runtime paths.
    note(`core: warming up ${selected.map((c) => c.name).join(', ')}`)
    for (const c of selected) await c.warmUp()
    for (const c of selected) await c.measure()
  },
}
