/**
 * What introspection costs when nobody looks (issue #17: "dashboard idle cost on an idle node ≈ 0
 * CPU"), measured against the same thing without it, in the same run:
 * - `idle`: CPU time per second of an idle node (100 idle actors) with the dashboard and the
 *   introspection API on, against the same node with both off.
 * - `tell`: tell throughput through ActorActivity's hooks, unwatched and watched, against the
 *   metrics' hooks alone (what a node had before).
 */
import { Registry } from 'prom-client'
import { ActorActivity } from '../cluster/introspection/ActorActivity.ts'
import { TroupeMetrics } from '../cluster/observability/index.ts'
import { defaultConfig, defineApp, silentLogger, TroupeNode, type NodeConfig } from '../cluster/node/index.ts'
import { Actor, ActorSystem, type MailboxHooks } from '../runtime/index.ts'
import { check, paired, pairedRatio, median, rate, report, round, startTiming, yieldMacrotask, type Rate, type Suite } from './harness.ts'

const IDLE_MS = 2000
const IDLE_ROUNDS = 3
const TELL_N = 500_000
const YIELD_MASK = 1023

class Idle extends Actor<{ ping(): number; inc(by: number): void; count(): number }> {
  private n = 0
  ping(): number {
    return 1
  }
  inc(by: number): void {
    this.n += by
  }
  count(): number {
    return this.n
  }
}

const app = defineApp({
  name: 'idle',
  actors: { Idle },
  start({ system }) {
    for (let i = 0; i < 100; i++) system.spawn(Idle, { name: `idle-${i}` })
  },
})

/** CPU ms per wall second of a node left alone for IDLE_MS. */
async function idleCpu(dashboard: boolean): Promise<number> {
  const config: NodeConfig = { ...defaultConfig(process.pid), app: 'idle', http: '127.0.0.1:0', logLevel: 'silent', dashboard: dashboard ? 'on' : 'off', inspect: dashboard ? 'on' : 'off' }
  const node = await TroupeNode.start({ config, app, logger: silentLogger, registry: new Registry() })
  await new Promise<void>((resolve) => node.system.clock.setTimer(200, resolve))
  const before = process.cpuUsage()
  const start = performance.now()
  await new Promise<void>((resolve) => node.system.clock.setTimer(IDLE_MS, resolve))
  const used = process.cpuUsage(before)
  const wall = performance.now() - start
  await node.stop()
  return (used.user + used.system) / 1000 / (wall / 1000)
}

async function tells(hooks: (metrics: TroupeMetrics) => MailboxHooks): Promise<Rate> {
  const metrics = new TroupeMetrics({ registry: new Registry() })
  const system = ActorSystem.create({ name: 'tells', mailboxHooks: hooks(metrics) })
  metrics.observe(system)
  const sink = system.spawn(Idle)
  const done = startTiming()
  for (let i = 0; i < TELL_N; i++) {
    sink.tell('inc', 1)
    if ((i & YIELD_MASK) === YIELD_MASK) await yieldMacrotask()
  }
  check((await sink.ask('count')) === TELL_N, 'every tell arrived')
  const result = rate(TELL_N, done())
  await system.terminate()
  metrics.close()
  return result
}

export const suite: Suite = {
  description: 'Introspection and dashboard: idle CPU of a node with them on vs off; tell throughput through unwatched/watched hooks vs metrics alone',
  cases: ['idle', 'tell'],
  async run({ only }) {
    if (only === null || only.has('idle')) {
      const on: number[] = []
      const off: number[] = []
      for (let round = 0; round < IDLE_ROUNDS; round++) {
        off.push(await idleCpu(false))
        on.push(await idleCpu(true))
      }
      report({
        case: 'dashboard.idle',
        value: round(median(on), 3),
        unit: 'CPU ms per s (idle node, dashboard + API on, nobody watching)',
        baseline: round(median(off), 3),
        ratio: round(median(on) / Math.max(median(off), 1e-9), 3),
        rounds: IDLE_ROUNDS,
        noisy: 'shared 2-core machine; both figures are near the noise floor',
      })
    }
    if (only === null || only.has('tell')) {
      // Warm the JIT on both paths first: the first pair otherwise measures compilation.
      await tells((m) => new ActorActivity(m.mailboxHooks).hooks)
      await tells((m) => m.mailboxHooks)
      const unwatched = await paired(5, () => tells((m) => new ActorActivity(m.mailboxHooks).hooks), () => tells((m) => m.mailboxHooks))
      report({
        case: 'dashboard.tell-unwatched',
        value: Math.round(median(unwatched.candidate.map((r) => r.perSecond))),
        unit: 'tells/s',
        baseline: Math.round(median(unwatched.baseline.map((r) => r.perSecond))),
        ratio: round(pairedRatio(unwatched.candidate.map((r) => r.perSecond), unwatched.baseline.map((r) => r.perSecond)), 3),
      })
      const watched = await paired(
        5,
        () =>
          tells((m) => {
            const activity = new ActorActivity(m.mailboxHooks)
            // Armed as a request would arm it (attach gives it the clock; the lease outlasts the run).
            activity.attach(ActorSystem.create({ name: 'lease-clock' }))
            activity.watch()
            return activity.hooks
          }),
        () => tells((m) => m.mailboxHooks),
      )
      report({
        case: 'dashboard.tell-watched',
        value: Math.round(median(watched.candidate.map((r) => r.perSecond))),
        unit: 'tells/s',
        baseline: Math.round(median(watched.baseline.map((r) => r.perSecond))),
        ratio: round(pairedRatio(watched.candidate.map((r) => r.perSecond), watched.baseline.map((r) => r.perSecond)), 3),
      })
    }
  },
}
