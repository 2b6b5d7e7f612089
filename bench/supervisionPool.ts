/**
 * supervision.pool: a dynamic pool (OTP simple_one_for_one) of POOL_N children: start them all,
 * terminate them all by ref, next to a plain parent actor that spawns and stops the same number of
 * children through the same ask shape (the floor: no child table, no restart bookkeeping). A second
 * size (POOL_N / 10) shows terminate stays O(1) per child: per-child rates at both sizes should match.
 * Also times the pool's own stop with every child alive (children stopped concurrently).
 */
import { Actor, ActorSystem, type ActorRef } from '../runtime/index.ts'
import { DynamicSupervisor, type DynamicSupervisorProtocol } from '../supervision/index.ts'
import { check, median, note, paired, pairedRatio, rate, report, round, startTiming, type Rate } from './harness.ts'

export const POOL_N = 100_000
const BATCH = 1_000
const LONG = { timeoutMs: 600_000 }
let systems = 0

class Idle extends Actor<{ ping(): void }> {
  ping(): void {}
}

/** The floor: a parent that spawns and stops children on request, nothing else. */
class PlainParent extends Actor<{ spawnOne(): ActorRef<any>; stopOne(ref: ActorRef<any>): Promise<unknown> }> {
  spawnOne(): ActorRef<any> {
    return this.context.spawn(Idle)
  }
  stopOne(ref: ActorRef<any>): Promise<unknown> {
    return this.context.stopChild(ref, 5000)
  }
}

interface PoolRun {
  readonly start: Rate
  readonly terminate: Rate
}

/** `n` asks, BATCH in flight at a time. */
async function batched<T>(n: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < n; i += BATCH) {
    const batch: Promise<T>[] = []
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(one(j))
    out.push(...(await Promise.all(batch)))
  }
  return out
}

async function poolTroupe(n: number): Promise<PoolRun> {
  const system = ActorSystem.create({ name: `bench-pool-${systems++}` })
  const pool = system.spawn(DynamicSupervisor, { args: [{ child: { actor: Idle, restart: 'temporary' } }] }) as ActorRef<DynamicSupervisorProtocol<typeof Idle>>
  let stop = startTiming()
  const refs = await batched(n, async () => (await pool.askWith(LONG, 'startChild')).ref as ActorRef<any>)
  const start = rate(n, stop())
  check((await pool.askWith(LONG, 'countChildren')).active === n, 'not every child is running')
  stop = startTiming()
  await batched(n, (i) => pool.askWith(LONG, 'terminateChild', refs[n - 1 - i] as ActorRef<any>))
  const terminate = rate(n, stop())
  check((await pool.askWith(LONG, 'countChildren')).active === 0, 'children left after terminating all')
  await system.terminate()
  return { start, terminate }
}

async function poolBaseline(n: number): Promise<PoolRun> {
  const system = ActorSystem.create({ name: `bench-pool-${systems++}` })
  const parent = system.spawn(PlainParent)
  let stop = startTiming()
  const refs = await batched(n, () => parent.askWith(LONG, 'spawnOne'))
  const start = rate(n, stop())
  stop = startTiming()
  await batched(n, (i) => parent.askWith(LONG, 'stopOne', refs[n - 1 - i] as ActorRef<any>))
  const terminate = rate(n, stop())
  check(system.actorCount === 1, 'baseline children left')
  await system.terminate()
  return { start, terminate }
}

/** The pool's own stop with n children alive: they are stopped concurrently. */
async function poolStop(n: number): Promise<Rate> {
  const system = ActorSystem.create({ name: `bench-pool-${systems++}` })
  const pool = system.spawn(DynamicSupervisor, { args: [{ child: { actor: Idle } }] }) as ActorRef<DynamicSupervisorProtocol<typeof Idle>>
  await batched(n, () => pool.askWith(LONG, 'startChild'))
  const stop = startTiming()
  await system.stop(pool)
  const result = rate(n, stop())
  check(system.actorCount === 0, 'children left after the pool stopped')
  await system.terminate()
  return result
}

export async function poolWarmUp(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await poolTroupe(10_000)
    await poolBaseline(10_000)
  }
}

export async function poolMeasure(): Promise<void> {
  note(`supervision.pool: dynamic pool of ${POOL_N} children: startChild each, terminateChild each by ref (reverse order), vs a plain parent spawning/stopping as many`)
  const runs = await paired(3, () => poolTroupe(POOL_N), () => poolBaseline(POOL_N))
  const small = await paired(3, () => poolTroupe(POOL_N / 10), () => poolBaseline(POOL_N / 10))
  const stops: number[] = []
  for (let i = 0; i < 3; i++) stops.push((await poolStop(POOL_N)).perSecond)
  for (const phase of ['start', 'terminate'] as const) {
    const wall = runs.candidate.map((r) => r[phase].perSecond)
    const base = runs.baseline.map((r) => r[phase].perSecond)
    const smallWall = small.candidate.map((r) => r[phase].perSecond)
    const smallBase = small.baseline.map((r) => r[phase].perSecond)
    report({
      case: `supervision.pool.${phase}`,
      value: round(median(wall)),
      unit: 'children/s',
      baseline: round(median(base)),
      ratio: round(pairedRatio(wall, base), 3),
      cpuRatio: round(
        pairedRatio(
          runs.candidate.map((r) => r[phase].perCpuSecond),
          runs.baseline.map((r) => r[phase].perCpuSecond),
        ),
        3,
      ),
      n: POOL_N,
      // Per-child rate at n ÷ at n/10: about 1 when the cost per child does not grow with the pool.
      scaling: round(median(wall) / median(smallWall), 3),
      baselineScaling: round(median(base) / median(smallBase), 3),
      baselineIs: 'plain parent: context.spawn / context.stopChild through the same ask',
      ...(phase === 'terminate' ? { poolStopChildrenPerSecond: round(median(stops)) } : {}),
      rounds: wall.map((v) => round(v, 3)),
      baselineRounds: base.map((v) => round(v, 3)),
    })
  }
}
