/**
 * Shards: actors in worker threads joined by SharedArrayBuffer rings, each case next to a baseline
 * measured in the same run (ABBA-paired rounds; medians of per-round ratios):
 * - `tell`: one sender on shard 1, one sink on shard 2, small messages (`{id, kind, value}`), sender
 *   window 64k with credits from the sink — vs one `MessagePort.postMessage` per message between two
 *   worker threads; the raw ring moving pre-encoded 32-byte frames is reported next to it. Target
 *   ≥ 3M msg/s and ≥ 10× postMessage.
 * - `ask`: sequential asks shard 1 → shard 2, p50/p99 in µs measured on shard 1, idle and while a
 *   `tell` stream runs between the same shards — vs a postMessage ping-pong between two workers.
 *   Target p50 ≤ 20 µs idle.
 * - `scaling`: K independent bouncing pairs with a little work per message, all on 1 shard vs
 *   spread over 2 shards. Target ≥ 1.7×.
 * - `raw-ring`: the ring alone (bench/shards-raw.ts) vs postMessage, for reference.
 * The machine is shared: figures move with other load; the ratios are the comparable part.
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads'
import { Actor, type ActorRef } from '../runtime/index.ts'
import { ShardedSystem } from '../transport/index.ts'
import { check, median, note, paired, pairedRatio, percentile, rate, report, round, startTiming, type Rate, type Suite } from './harness.ts'
import { benchRawRing } from './shards-raw.ts'
import { Asker, Bouncer, PAYLOAD, Ponger, Sender, Sink, type DoneProtocol, type SenderProtocol, type SinkProtocol } from './shardsApp.ts'

const APP = new URL('./shardsApp.ts', import.meta.url)
const ROUNDS = 5
const TELL_N = 2_000_000
const POST_N = 200_000
const WINDOW = 65_536
const ASK_N = 5000
/** Asks under load wait behind the stream's window in the same ring: fewer of them, and a smaller window. */
const ASK_LOADED_N = 300
const LOAD_WINDOW = 4096
const PING_N = 5000
const PAIRS = 8
const CHAINS = 64
const HOPS = 8000
const WORKER_TAG = 'troupe-bench-shards-baseline'

// ------------------------------------------------------------------ completions from the shards

/** Lives on the main thread; shards tell it when a run is over. */
class Done extends Actor<DoneProtocol> implements DoneProtocol {
  private readonly onFinished: (tag: string, count: number) => void
  constructor(onFinished: (tag: string, count: number) => void) {
    super()
    this.onFinished = onFinished
  }
  finished(tag: string, count: number): void {
    this.onFinished(tag, count)
  }
}

class Completions {
  readonly ref: ActorRef<DoneProtocol>
  private readonly waiting = new Map<string, { remaining: number; resolve: () => void }>()
  private nextTag = 0
  constructor(sharded: ShardedSystem) {
    this.ref = sharded.system.spawn(Done, { args: [(tag: string, count: number) => this.finished(tag, count)] })
  }
  /** A fresh tag and a promise that resolves once `total` has been reported for it. */
  expect(total: number): { tag: string; done: Promise<void> } {
    const tag = `run-${this.nextTag++}`
    const done = new Promise<void>((resolve) => this.waiting.set(tag, { remaining: total, resolve }))
    return { tag, done }
  }
  cancel(tag: string): void {
    this.waiting.delete(tag)
  }
  private finished(tag: string, count: number): void {
    const entry = this.waiting.get(tag)
    if (entry === undefined) return
    entry.remaining -= count
    if (entry.remaining <= 0) {
      this.waiting.delete(tag)
      entry.resolve()
    }
  }
}

// ------------------------------------------------------------------ baseline workers (postMessage)

type BaselineJob =
  | { kind: 'produce'; port: MessagePort; count: number }
  | { kind: 'consume'; port: MessagePort; count: number }
  | { kind: 'pong'; port: MessagePort }
  | { kind: 'ping'; port: MessagePort; count: number }

function startBaselineWorker(): Worker {
  const hooks = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href
  const bootstrap = `require('node:module').register(${JSON.stringify(hooks)}, { data: {} }); import(${JSON.stringify(import.meta.url)})`
  return new Worker(bootstrap, { eval: true, workerData: { tag: WORKER_TAG } })
}

function baselineWorkerMain(port: MessagePort): void {
  port.on('message', (job: BaselineJob) => {
    switch (job.kind) {
      case 'produce':
        // One structured-clone postMessage per message: what a worker pool does per task.
        for (let i = 0; i < job.count; i++) job.port.postMessage({ method: 'record', args: [PAYLOAD] })
        port.postMessage('produced')
        return
      case 'consume': {
        let seen = 0
        job.port.on('message', (message: { args: [typeof PAYLOAD] }) => {
          if (message.args[0].id === 42 && ++seen === job.count) {
            job.port.close()
            port.postMessage('consumed')
          }
        })
        return
      }
      case 'pong':
        job.port.on('message', (message: { id: number; args: [typeof PAYLOAD] }) => job.port.postMessage({ id: message.id, value: message.args[0] }))
        return
      case 'ping': {
        const latencies: number[] = []
        let started = 0
        const next = (): void => {
          started = performance.now()
          job.port.postMessage({ id: latencies.length, args: [PAYLOAD] })
        }
        job.port.on('message', () => {
          latencies.push((performance.now() - started) * 1000)
          if (latencies.length === job.count) {
            job.port.close()
            port.postMessage(latencies)
          } else next()
        })
        next()
        return
      }
    }
  })
}

function reply<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: T): void => {
      worker.off('error', onError)
      resolve(message)
    }
    const onError = (error: Error): void => {
      worker.off('message', onMessage)
      reject(error)
    }
    worker.once('message', onMessage)
    worker.once('error', onError)
  })
}

class Baselines {
  readonly a = startBaselineWorker()
  readonly b = startBaselineWorker()

  /** One-way: worker a posts `count` messages to worker b through a MessageChannel. */
  async postMessages(count: number): Promise<Rate> {
    const { port1, port2 } = new MessageChannel()
    const consumed = reply<string>(this.b)
    this.b.postMessage({ kind: 'consume', port: port2, count } satisfies BaselineJob, [port2])
    const produced = reply<string>(this.a)
    const stop = startTiming()
    this.a.postMessage({ kind: 'produce', port: port1, count } satisfies BaselineJob, [port1])
    await consumed
    const timing = stop()
    await produced
    return rate(count, timing)
  }

  /** Sequential round trips a → b → a, latencies in µs measured on a. */
  async pingPong(count: number): Promise<number[]> {
    const { port1, port2 } = new MessageChannel()
    this.b.postMessage({ kind: 'pong', port: port2 } satisfies BaselineJob, [port2])
    const latencies = reply<number[]>(this.a)
    this.a.postMessage({ kind: 'ping', port: port1, count } satisfies BaselineJob, [port1])
    return latencies
  }

  async close(): Promise<void> {
    await Promise.all([this.a.terminate(), this.b.terminate()])
  }
}

// ------------------------------------------------------------------ cases

interface Fixture {
  readonly sharded: ShardedSystem
  readonly completions: Completions
  readonly sink: ActorRef<SinkProtocol>
  readonly sender: ActorRef<SenderProtocol>
}

async function fixture(shards: number): Promise<Fixture> {
  const sharded = await ShardedSystem.create({ name: 'bench', shards, app: APP, askTimeoutMs: 60_000 })
  const completions = new Completions(sharded)
  const sink = await sharded.spawn(Sink, { shard: Math.min(2, shards), mailbox: { capacity: 1_000_000 } })
  const sender = await sharded.spawn(Sender, { shard: 1 })
  return { sharded, completions, sink, sender }
}

/** One throughput run: `count` records from the sender (shard 1) to the sink (shard 2). */
async function troupeTells(f: Fixture, count: number): Promise<Rate> {
  const { tag, done } = f.completions.expect(count)
  await f.sink.ask('expect', count, f.completions.ref, tag)
  const stop = startTiming()
  f.sender.tell('run', f.sink, count, WINDOW)
  await done
  return rate(count, stop())
}

async function tellCase(f: Fixture, baselines: Baselines): Promise<void> {
  note('shards.tell: warming up')
  await troupeTells(f, TELL_N / 4)
  await baselines.postMessages(POST_N / 4)
  const before = await f.sharded.stats()
  const runs = await paired(ROUNDS, () => troupeTells(f, TELL_N), () => baselines.postMessages(POST_N))
  const after = await f.sharded.stats()
  const raw = await benchRawRing({ rounds: 3, frames: 3_000_000, messages: 100_000 })
  const wall = runs.candidate.map((r) => r.perSecond)
  const baseWall = runs.baseline.map((r) => r.perSecond)
  const ratio = pairedRatio(wall, baseWall)
  const shard1 = (s: typeof before) => s.shards.find((x) => x.shard === 1)
  const frames = (shard1(after)?.remoting.framesOut ?? 0) - (shard1(before)?.remoting.framesOut ?? 0)
  const envelopes = (shard1(after)?.remoting.envelopesOut ?? 0) - (shard1(before)?.remoting.envelopesOut ?? 0)
  const deadLetters = after.shards.reduce((sum, s) => sum + s.deadLetters, 0)
  check(deadLetters === 0, `no dead letters in the tell runs (got ${deadLetters})`)
  report({
    case: 'shards.tell',
    value: round(median(wall)),
    unit: 'msg/s',
    baseline: round(median(baseWall)),
    baselineName: 'MessagePort.postMessage per message (worker → worker)',
    ratio: round(ratio, 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
    perCpuSecond: round(median(runs.candidate.map((r) => r.perCpuSecond))),
    rawRingFramesPerSec: round(raw.framesPerSec),
    ratioToRawRing: round(median(wall) / raw.framesPerSec, 3),
    envelopesPerFrame: round(envelopes / Math.max(1, frames), 4),
    target: '>= 3e6 msg/s and >= 10x postMessage',
    meetsTarget: median(wall) >= 3e6 && ratio >= 10,
    messages: TELL_N,
    rounds: ROUNDS,
  })
  report({
    case: 'shards.raw-ring',
    value: round(raw.framesPerSec),
    unit: 'frames/s',
    baseline: round(raw.baselinePerSec),
    baselineName: 'MessagePort.postMessage per message (worker → main)',
    ratio: round(raw.ratio, 3),
    frameBytes: raw.frameBytes,
    rounds: raw.rounds,
  })
}

function latencyStats(samples: readonly number[]): { p50: number; p99: number } {
  const sorted = Float64Array.from(samples).sort()
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
}

async function askCase(f: Fixture, baselines: Baselines): Promise<void> {
  const asker = await f.sharded.spawn(Asker, { shard: 1 })
  const ponger = await f.sharded.spawn(Ponger, { shard: 2 })
  note('shards.ask: warming up')
  await asker.ask('measure', ponger, ASK_N / 5)
  await baselines.pingPong(PING_N / 5)
  const runs = await paired(
    ROUNDS,
    async () => latencyStats(await asker.ask('measure', ponger, ASK_N)),
    async () => latencyStats(await baselines.pingPong(PING_N)),
  )
  const p50 = runs.candidate.map((r) => r.p50)
  const baseP50 = runs.baseline.map((r) => r.p50)
  report({
    case: 'shards.ask',
    value: round(median(p50), 3),
    unit: 'µs p50',
    baseline: round(median(baseP50), 3),
    baselineName: 'MessagePort.postMessage ping-pong between two workers',
    ratio: round(pairedRatio(p50, baseP50), 3),
    p99: round(median(runs.candidate.map((r) => r.p99)), 3),
    baselineP99: round(median(runs.baseline.map((r) => r.p99)), 3),
    target: 'p50 <= 20 µs',
    meetsTarget: median(p50) <= 20,
    asks: ASK_N,
    rounds: ROUNDS,
  })

  // Under load: a tell stream runs shard 1 → shard 2 for the whole measurement. Each ask queues
  // behind up to LOAD_WINDOW stream messages in the same ring and mailbox queue of shard 2.
  const loaded = async (): Promise<{ p50: number; p99: number }> => {
    const count = 1_000_000_000
    const { tag } = f.completions.expect(count)
    await f.sink.ask('expect', count, f.completions.ref, tag)
    f.sender.tell('run', f.sink, count, LOAD_WINDOW)
    const stats = latencyStats(await asker.ask('measure', ponger, ASK_LOADED_N))
    // Stop the stream (what is in flight drains; the next `expect` resets the sink).
    f.sender.tell('run', f.sink, 0, LOAD_WINDOW)
    f.completions.cancel(tag)
    return stats
  }
  const underLoad = await paired(ROUNDS, loaded, async () => latencyStats(await baselines.pingPong(PING_N)))
  const loadedP50 = underLoad.candidate.map((r) => r.p50)
  report({
    case: 'shards.ask-under-load',
    value: round(median(loadedP50), 3),
    unit: 'µs p50',
    baseline: round(median(underLoad.baseline.map((r) => r.p50)), 3),
    baselineName: 'MessagePort.postMessage ping-pong between two idle workers',
    ratio: round(pairedRatio(loadedP50, underLoad.baseline.map((r) => r.p50)), 3),
    p99: round(median(underLoad.candidate.map((r) => r.p99)), 3),
    load: `a tell stream shard 1 → shard 2 on the same rings, window ${LOAD_WINDOW}`,
    asks: ASK_LOADED_N,
    rounds: ROUNDS,
  })
}

/** K bouncing pairs spread round-robin over the worker shards of `f`; messages handled per second. */
async function bounce(f: Fixture): Promise<Rate> {
  const workers = f.sharded.workers
  const { tag, done } = f.completions.expect(PAIRS * CHAINS)
  const pairs = []
  for (let i = 0; i < PAIRS; i++) {
    const shard = 1 + (i % workers)
    pairs.push([await f.sharded.spawn(Bouncer, { shard }), await f.sharded.spawn(Bouncer, { shard })] as const)
  }
  const stop = startTiming()
  for (const [a, b] of pairs) a.tell('start', b, CHAINS, HOPS, f.completions.ref, tag)
  await done
  const timing = stop()
  for (const [a, b] of pairs) {
    f.sharded.system.poison(a)
    f.sharded.system.poison(b)
  }
  return rate(PAIRS * CHAINS * (HOPS + 1), timing)
}

/**
 * How many cores two busy threads of this process actually get right now (process CPU ÷ wall while
 * two workers spin for 300 ms): the ceiling of the scaling ratio on a shared machine.
 */
async function coresAvailable(): Promise<number> {
  const code = `const { parentPort } = require('node:worker_threads'); const end = performance.now() + 300; let x = 0; while (performance.now() < end) x++; parentPort.postMessage(x)`
  const stop = startTiming()
  const workers = [0, 1].map(() => new Worker(code, { eval: true }))
  await Promise.all(workers.map((worker) => reply<number>(worker)))
  const timing = stop()
  await Promise.all(workers.map((worker) => worker.terminate()))
  return timing.cpuMs / timing.wallMs
}

async function scalingCase(one: Fixture, two: Fixture): Promise<void> {
  const cores = await coresAvailable()
  note(`shards.scaling: two busy threads get ${cores.toFixed(2)} cores right now`)
  note('shards.scaling: warming up')
  await bounce(one)
  await bounce(two)
  const runs = await paired(ROUNDS, () => bounce(two), () => bounce(one))
  const wall = runs.candidate.map((r) => r.perSecond)
  const baseWall = runs.baseline.map((r) => r.perSecond)
  const ratio = pairedRatio(wall, baseWall)
  report({
    case: 'shards.scaling',
    value: round(median(wall)),
    unit: 'msg/s',
    baseline: round(median(baseWall)),
    baselineName: `the same ${PAIRS} pairs on 1 shard`,
    ratio: round(ratio, 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((r) => r.perCpuSecond), runs.baseline.map((r) => r.perCpuSecond)), 3),
    // Cores the process actually got (process CPU ÷ wall): on a shared machine 2 shards may not get 2.
    coresUsed: round(median(runs.candidate.map((r) => r.perSecond / r.perCpuSecond)), 3),
    baselineCoresUsed: round(median(runs.baseline.map((r) => r.perSecond / r.perCpuSecond)), 3),
    coresAvailable: round(cores, 3),
    target: '>= 1.7',
    meetsTarget: ratio >= 1.7,
    pairs: PAIRS,
    chainsPerPair: CHAINS,
    hops: HOPS,
    rounds: ROUNDS,
  })
}

const CASES = ['tell', 'ask', 'scaling'] as const

export const suite: Suite = {
  description: 'actors in 2 worker-thread shards over SharedArrayBuffer rings vs postMessage; 1 vs 2 shards',
  cases: CASES,
  async run({ only }) {
    const wants = (name: (typeof CASES)[number]): boolean => only === null || only.has(name)
    const baselines = new Baselines()
    const two = await fixture(2)
    try {
      if (wants('tell')) await tellCase(two, baselines)
      if (wants('ask')) await askCase(two, baselines)
      if (wants('scaling')) {
        const one = await fixture(1)
        try {
          await scalingCase(one, two)
        } finally {
          await one.sharded.terminate()
        }
      }
    } finally {
      await two.sharded.terminate()
      await baselines.close()
    }
  },
}

if (!isMainThread && parentPort !== null && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) {
  baselineWorkerMain(parentPort)
}
