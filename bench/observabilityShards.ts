/**
 * observability.shards: the tell workload of `shards.tell` (a sender in shard 1 telling a sink in
 * shard 2 over the rings, credit-windowed) on a sharded system whose workers load the node's
 * observer (metrics, tracing sampled at 1 %, default metrics with event-loop lag per shard),
 * against the same system without an observer, in the same run. The workers register no OTel SDK
 * here: the figure is Troupe's own cost in the shards (counting, send-site sampling, no-op spans
 * for the 1 % picked).
 */
import { shardObserver } from '../cluster/observability/index.ts'
import { Actor, type ActorRef } from '../runtime/index.ts'
import { ShardedSystem } from '../transport/index.ts'
import { median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate } from './harness.ts'
import { Sender, Sink, type DoneProtocol, type SenderProtocol, type SinkProtocol } from './shardsApp.ts'

const APP = new URL('./shardsApp.ts', import.meta.url)
const TELL_N = 1_000_000
const WINDOW = 65_536
const ROUNDS = 5

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

interface Fixture {
  readonly sharded: ShardedSystem
  readonly sink: ActorRef<SinkProtocol>
  readonly sender: ActorRef<SenderProtocol>
  readonly done: ActorRef<DoneProtocol>
  readonly waiting: Map<string, () => void>
}

async function fixture(observed: boolean): Promise<Fixture> {
  const sharded = await ShardedSystem.create({ name: observed ? 'observed' : 'plain', shards: 2, app: APP, askTimeoutMs: 60_000, ...(observed ? { observer: shardObserver({ sampleRatio: 0.01 }) } : {}) })
  const waiting = new Map<string, () => void>()
  const done = sharded.system.spawn(Done, { args: [(tag: string) => waiting.get(tag)?.()] })
  const sink = await sharded.spawn(Sink, { shard: 2, mailbox: { capacity: 1_000_000 } })
  const sender = await sharded.spawn(Sender, { shard: 1 })
  return { sharded, sink, sender, done, waiting }
}

let runs = 0
async function tells(f: Fixture, count: number): Promise<Rate> {
  const tag = `run-${runs++}`
  const finished = new Promise<void>((resolve) => f.waiting.set(tag, resolve))
  await f.sink.ask('expect', count, f.done, tag)
  const stop = startTiming()
  f.sender.tell('run', f.sink, count, WINDOW)
  await finished
  f.waiting.delete(tag)
  return rate(count, stop())
}

export async function shardsCase(): Promise<void> {
  const observed = await fixture(true)
  const plain = await fixture(false)
  try {
    note(`observability.shards: ${TELL_N} tells shard 1 -> shard 2, node observer (1 % traced) vs none`)
    await tells(observed, TELL_N / 4)
    await tells(plain, TELL_N / 4)
    const result = await paired(ROUNDS, () => tells(observed, TELL_N), () => tells(plain, TELL_N))
    const wall = result.candidate.map((r) => r.perSecond)
    const baseWall = result.baseline.map((r) => r.perSecond)
    report({
      case: 'observability.shards',
      value: round(median(wall)),
      unit: 'msgs/s',
      baseline: round(median(baseWall)),
      ratio: round(pairedRatio(wall, baseWall), 3),
      cpuRatio: round(pairedRatio(result.candidate.map((r) => r.perCpuSecond), result.baseline.map((r) => r.perCpuSecond)), 3),
      n: TELL_N,
      sampling: 0.01,
      targetRatio: 0.9,
      rounds: wall.map((v) => round(v, 3)),
      baselineRounds: baseWall.map((v) => round(v, 3)),
    })
  } finally {
    await Promise.all([observed.sharded.terminate(), plain.sharded.terminate()])
  }
}
