/**
 * Supervision cases (issue 3): how fast a one_for_one supervisor restarts a child that crashes on
 * every message, next to the floor of a restart (catch the error, build a fresh instance) on the
 * minimal array-queue actor; and whether the heap grows with the number of restarts (it must not).
 *
 * Two drivers: `restarts` keeps one crash message in flight (the next is sent when the supervisor
 * publishes the restart: restart latency), `backlog` keeps up to BACKLOG queued (each restarted
 * instance finds the next crash waiting in its mailbox: restart throughput).
 *
 * The restart budget is made irrelevant (intensity 1e9) and its window short (periodMs 1 on the real
 * clock): the window keeps one timestamp per restart inside it, so a long window would measure the
 * budget's own bookkeeping (bounded by min(intensity + 1, restarts per period)), not a leak.
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type SupervisorProtocol } from '../supervision/index.ts'
import { ArrayQueueActor } from './baseline/ArrayQueueActor.ts'
import { poolMeasure, poolWarmUp, POOL_N } from './supervisionPool.ts'
import { check, hasGc, heapAfterGc, median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate, type Suite } from './harness.ts'

const RATE_N = 50_000
const HEAP_FIRST = 1_000
const HEAP_N = 100_000
const LONG_ASK = { timeoutMs: 600_000 }
/** Crash messages queued at most in the backlog case: far below the default 10 000-message mailbox. */
const BACKLOG = 1_000

let systemCounter = 0

// ------------------------------------------------------------------ actors under test

interface CrasherProtocol {
  crash(): void
}
class Crasher extends Actor<CrasherProtocol> implements CrasherProtocol {
  crash(): void {
    throw new Error('crash on every message')
  }
}

/** The floor of a restart: the failing instance is replaced by a fresh one, nothing else. */
class BaselineCrasher {
  crash(): void {
    throw new Error('crash on every message')
  }
}
class BaselineSupervised extends ArrayQueueActor {
  private child = new BaselineCrasher()
  restarts = 0
  private chained = false
  private target = 0
  private reached: (() => void) | null = null
  crash(): void {
    try {
      this.child.crash()
    } catch {
      this.child = new BaselineCrasher()
      this.restarted()
    }
  }
  /** Sends crashes one at a time until `target` restarts. */
  crashUntil(target: number): Promise<void> {
    this.chained = true
    const done = this.whenRestarts(target)
    this.tell('crash')
    return done
  }
  /** Keeps up to BACKLOG crashes queued until `total` restarts, as the troupe driver does. */
  async crashBacklog(total: number): Promise<void> {
    let sent = this.restarts
    while (sent < total) {
      const batch = Math.min(BACKLOG - (sent - this.restarts), total - sent)
      for (let i = 0; i < batch; i++) this.tell('crash')
      sent += batch
      await this.whenRestarts(sent < total ? sent - BACKLOG / 2 : total)
    }
  }
  private whenRestarts(target: number): Promise<void> {
    if (this.restarts >= target) return Promise.resolve()
    this.target = target
    return new Promise<void>((resolve) => (this.reached = resolve))
  }
  private restarted(): void {
    this.restarts++
    if (this.chained && this.restarts < this.target) this.tell('crash')
    else if (this.restarts >= this.target && this.reached !== null) {
      const reached = this.reached
      this.reached = null
      reached()
    }
  }
}

// ------------------------------------------------------------------ drivers

/** A supervised crasher and the count of its restarts, from the supervisor's own events. */
class Harness {
  readonly system: ActorSystem
  readonly sup: ActorRef<SupervisorProtocol>
  restarts = 0
  /** One in flight: crash again from the restart event. */
  private chained = false
  private target = 0
  private reached: (() => void) | null = null
  private child: ActorRef<CrasherProtocol> | null = null

  constructor() {
    this.system = ActorSystem.create({ name: `bench-sup-${systemCounter++}` })
    this.system.subscribe(SupervisorEventTopic, (event) => {
      if (event.type !== 'child-restarted') return
      this.restarts++
      if (this.chained && this.restarts < this.target) (this.child as ActorRef<CrasherProtocol>).tell('crash')
      else if (this.restarts >= this.target && this.reached !== null) {
        const reached = this.reached
        this.reached = null
        reached()
      }
    })
    this.sup = this.system.spawn(Supervisor, {
      args: [{ strategy: 'one_for_one', intensity: 1e9, periodMs: 1, children: [childSpec({ id: 'crasher', actor: Crasher })] }],
    })
  }

  async start(): Promise<void> {
    const child = await this.sup.askWith(LONG_ASK, 'lookupChild', 'crasher')
    check(child !== null, 'crasher is not running')
    this.child = child as ActorRef<CrasherProtocol>
  }

  private whenRestarts(target: number): Promise<void> {
    if (this.restarts >= target) return Promise.resolve()
    this.target = target
    return new Promise<void>((resolve) => (this.reached = resolve))
  }

  /** Crashes the child until `total` restarts in all, one crash in flight at a time. */
  crashUntil(total: number): Promise<void> {
    this.chained = true
    const done = this.whenRestarts(total)
    if (this.restarts < total) (this.child as ActorRef<CrasherProtocol>).tell('crash')
    return done
  }

  /** Crashes the child until `total` restarts in all, keeping up to BACKLOG crashes queued. */
  async crashBacklog(total: number): Promise<void> {
    this.chained = false
    const child = this.child as ActorRef<CrasherProtocol>
    let sent = this.restarts
    while (sent < total) {
      const batch = Math.min(BACKLOG - (sent - this.restarts), total - sent)
      for (let i = 0; i < batch; i++) child.tell('crash')
      sent += batch
      // Top up when half the backlog is done, so the child never runs dry.
      await this.whenRestarts(sent < total ? sent - BACKLOG / 2 : total)
    }
  }
}

async function restartsTroupe(n: number, backlog = false): Promise<Rate> {
  const harness = new Harness()
  await harness.start()
  const stop = startTiming()
  if (backlog) await harness.crashBacklog(n)
  else await harness.crashUntil(n)
  const timing = stop()
  check(harness.restarts === n, `saw ${harness.restarts} restarts, expected ${n}`)
  const info = await harness.sup.askWith(LONG_ASK, 'whichChildren')
  check(info[0]?.restarts === n && info[0].status === 'running', `supervisor reports ${info[0]?.restarts} restarts, status ${info[0]?.status}`)
  await harness.system.terminate()
  return rate(n, timing)
}

async function restartsBaseline(n: number, backlog = false): Promise<Rate> {
  const actor = new BaselineSupervised()
  const stop = startTiming()
  if (backlog) await actor.crashBacklog(n)
  else await actor.crashUntil(n)
  const timing = stop()
  check(actor.restarts === n, `baseline restarted ${actor.restarts} times, expected ${n}`)
  return rate(n, timing)
}

interface HeapResult {
  readonly beforeSystem: number
  readonly afterFirst: number
  readonly afterHalf: number
  readonly afterAll: number
}

/** Heap (after a full GC) once HEAP_FIRST restarts are done, and again after HEAP_N, same system. */
async function heapTroupe(): Promise<HeapResult> {
  const beforeSystem = heapAfterGc()
  const harness = new Harness()
  await harness.start()
  await harness.crashUntil(HEAP_FIRST)
  const afterFirst = heapAfterGc()
  await harness.crashUntil(HEAP_N / 2)
  const afterHalf = heapAfterGc()
  await harness.crashUntil(HEAP_N)
  const afterAll = heapAfterGc()
  check(harness.restarts === HEAP_N, `saw ${harness.restarts} restarts, expected ${HEAP_N}`)
  await harness.system.terminate()
  return { beforeSystem, afterFirst, afterHalf, afterAll }
}

// ------------------------------------------------------------------ suite

interface Case {
  readonly name: string
  warmUp(): Promise<void>
  measure(): Promise<void>
}

function restartsCase(name: 'restarts' | 'backlog', backlog: boolean, description: string): Case {
  return {
    name,
    async warmUp() {
      for (let i = 0; i < 3; i++) {
        await restartsTroupe(10_000, backlog)
        await restartsBaseline(10_000, backlog)
      }
    },
    async measure() {
      note(`supervision.${name}: ${RATE_N} crashes of one child, each restarted in place (one_for_one), ${description}`)
      const runs = await paired(5, () => restartsTroupe(RATE_N, backlog), () => restartsBaseline(RATE_N, backlog))
      const wall = runs.candidate.map((r) => r.perSecond)
      const baseWall = runs.baseline.map((r) => r.perSecond)
      const value = median(wall)
      report({
        case: `supervision.${name}`,
        value: round(value),
        unit: 'restarts/s',
        baseline: round(median(baseWall)),
        ratio: round(pairedRatio(wall, baseWall), 3),
        cpuRatio: round(
          pairedRatio(
            runs.candidate.map((r) => r.perCpuSecond),
            runs.baseline.map((r) => r.perCpuSecond),
          ),
          3,
        ),
        usPerRestart: round(1e6 / value, 3),
        n: RATE_N,
        inFlight: backlog ? BACKLOG : 1,
        baselineIs: 'catch + fresh instance on the array-queue actor',
        rounds: wall.map((v) => round(v, 3)),
        baselineRounds: baseWall.map((v) => round(v, 3)),
      })
    },
  }
}

const cases: readonly Case[] = [
  restartsCase('restarts', false, 'one crash in flight'),
  restartsCase('backlog', true, `up to ${BACKLOG} crashes queued`),
  {
    name: 'heap',
    async warmUp() {
      await restartsTroupe(10_000)
    },
    async measure() {
      note(`supervision.heap: heap after ${HEAP_FIRST} restarts vs after ${HEAP_N}, same supervisor and child`)
      if (!hasGc()) note('global.gc is missing: heap figures are noise without `node --expose-gc` (npm run bench)')
      const results: HeapResult[] = []
      for (let i = 0; i < 3; i++) results.push(await heapTroupe())
      const afterFirst = median(results.map((r) => r.afterFirst))
      const afterAll = median(results.map((r) => r.afterAll))
      const growth = median(results.map((r) => r.afterAll - r.afterFirst))
      // A leak grows with every restart; a one-off step (V8 tiering, a new heap page) does not. The
      // slope over the second half, after any such step, is the figure that tells them apart.
      const slope = median(results.map((r) => (r.afterAll - r.afterHalf) / (HEAP_N / 2)))
      report({
        case: 'supervision.heap',
        value: round(afterAll),
        unit: 'bytes',
        baseline: round(afterFirst),
        ratio: round(median(results.map((r) => r.afterAll / r.afterFirst)), 4),
        growthBytes: round(growth),
        secondHalfBytesPerRestart: round(slope, 3),
        systemBytesAfterFirst: round(median(results.map((r) => r.afterFirst - r.beforeSystem))),
        // Under 1 byte per restart is GC noise; a retained error, envelope or timer per restart is 100+.
        grows: slope >= 1,
        restarts: HEAP_N,
        firstRestarts: HEAP_FIRST,
        gc: hasGc(),
        rounds: results.map((r) => ({ afterFirst: r.afterFirst, afterHalf: r.afterHalf, afterAll: r.afterAll })),
      })
    },
  },
  { name: 'pool', warmUp: poolWarmUp, measure: poolMeasure },
]

export const suite: Suite = {
  description: `restarts per second of a child that crashes on every message; heap after 1e5 restarts vs 1e3; a dynamic pool of ${POOL_N} children started and terminated`,
  cases: cases.map((c) => c.name),
  async run({ only }) {
    const selected = cases.filter((c) => only === null || only.has(c.name))
    note(`supervision: warming up ${selected.map((c) => c.name).join(', ')}`)
    for (const c of selected) await c.warmUp()
    for (const c of selected) await c.measure()
  },
}
