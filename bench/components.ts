/**
 * Component actors (issue 15). `components.breaker`: what a call protected by a closed circuit
 * breaker costs on the fast path (BreakerClient.execute: mirrored state, durations in timer ticks,
 * successes counted and sent to the actor in batches) over calling the same async function directly, in the same run, ABBA
 * rounds. Each call is awaited before the next, so the figure is per-call latency overhead, not
 * throughput hidden by concurrency. Target: ≤ 100 ns added per call.
 *
 * The limiter's section (`limiterBench()`, bench/componentsLimiter.ts) joins this suite at merge.
 */
import { ActorSystem } from '../runtime/index.ts'
import { spawnBreaker } from '../actors/index.ts'
import { clientsCases, clientsBench } from './componentsClients.ts'
import { check, median, note, paired, pairedRatio, report, round, startTiming, type Suite, type Timing } from './harness.ts'

const N = 1_000_000
const TARGET_ADDED_NS = 100

/** The protected operation: an async function that resolves at once, so only the breaker's cost differs. */
const operation = (): Promise<number> => Promise.resolve(1)

async function direct(n: number): Promise<Timing> {
  let sum = 0
  const stop = startTiming()
  for (let i = 0; i < n; i++) sum += await operation()
  const timing = stop()
  check(sum === n, `direct: summed ${sum}, expected ${n}`)
  return timing
}

/**
 * For context, the path the fast path avoids: an ask for a permit and a tell of the outcome per
 * call (what a caller without a mirror pays), against the same direct loop.
 */
async function breakerAskBench(): Promise<void> {
  const n = N / 10
  const system = ActorSystem.create({ name: 'bench-breaker-ask', keepAlive: false })
  const { ref } = await spawnBreaker(system, { name: 'bench-ask', windowSize: 1000, minimumCalls: 1000 })
  const perCall = async (count: number): Promise<Timing> => {
    let sum = 0
    const stop = startTiming()
    for (let i = 0; i < count; i++) {
      const grant = await ref.ask('acquire')
      sum += await operation()
      ref.tell('complete', grant.epoch, grant.permit, 'success', 0)
    }
    const timing = stop()
    check(sum === count, `ask path: summed ${sum}, expected ${count}`)
    return timing
  }
  await perCall(n / 2)
  await direct(n / 2)
  const runs = await paired(4, () => perCall(n), () => direct(n))
  const ns = (t: Timing): number => (t.wallMs * 1e6) / n
  const askNs = runs.candidate.map(ns)
  const directNs = runs.baseline.map(ns)
  report({
    case: 'components.breaker-ask',
    value: round(median(askNs)),
    unit: 'ns per protected call via acquire ask + complete tell',
    baseline: round(median(directNs)),
    ratio: round(pairedRatio(askNs, directNs), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map((t) => t.cpuMs), runs.baseline.map((t) => t.cpuMs)), 3),
    n,
    baselineIs: 'await of the same async function, called directly',
    rounds: askNs.map((v) => round(v, 3)),
    baselineRounds: directNs.map((v) => round(v, 3)),
  })
  await system.terminate()
}

async function breakerBench(): Promise<void> {
  const system = ActorSystem.create({ name: 'bench-breaker', keepAlive: false })
  // A window larger than the run and an unreachable threshold: the breaker stays closed throughout.
  const { ref, client } = await spawnBreaker(system, { name: 'bench', windowSize: 1000, minimumCalls: 1000 })
  const guarded = async (n: number): Promise<Timing> => {
    let sum = 0
    const stop = startTiming()
    for (let i = 0; i < n; i++) sum += await client.execute(operation)
    const timing = stop()
    check(sum === n, `breaker: summed ${sum}, expected ${n}`)
    return timing
  }
  // Warm-up until V8 has optimised both loops.
  for (let i = 0; i < 2; i++) {
    await guarded(N / 2)
    await direct(N / 2)
  }
  const runs = await paired(6, () => guarded(N), () => direct(N))
  client.flush()
  // Let the last reports reach the actor, then check it saw every call and never opened.
  for (let i = 0; i < 100; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  const snapshot = await ref.ask('snapshot')
  check(snapshot.state === 'closed', `breaker left closed: ${snapshot.state}`)
  check(client.stats.slowPermits === 0 && client.stats.localRejections === 0, 'every call took the fast path')
  const nsPerCall = (t: Timing): number => (t.wallMs * 1e6) / N
  const cpuNsPerCall = (t: Timing): number => (t.cpuMs * 1e6) / N
  const guardedNs = runs.candidate.map(nsPerCall)
  const directNs = runs.baseline.map(nsPerCall)
  const added = guardedNs.map((g, i) => g - (directNs[i] as number))
  const addedCpu = runs.candidate.map(cpuNsPerCall).map((g, i) => g - cpuNsPerCall(runs.baseline[i] as Timing))
  const addedMedian = median(added)
  report({
    case: 'components.breaker',
    value: round(median(guardedNs)),
    unit: 'ns per protected call (awaited one at a time)',
    baseline: round(median(directNs)),
    ratio: round(pairedRatio(guardedNs, directNs), 3),
    cpuRatio: round(pairedRatio(runs.candidate.map(cpuNsPerCall), runs.baseline.map(cpuNsPerCall)), 3),
    addedNs: round(addedMedian, 3),
    addedCpuNs: round(median(addedCpu), 3),
    target: `≤ ${TARGET_ADDED_NS} ns added`,
    met: addedMedian <= TARGET_ADDED_NS,
    // Process CPU time per call: steadier than wall time when other work shares the cores.
    metCpu: median(addedCpu) <= TARGET_ADDED_NS,
    n: N,
    reports: client.stats.reports,
    baselineIs: 'await of the same async function, called directly',
    rounds: guardedNs.map((v) => round(v, 3)),
    baselineRounds: directNs.map((v) => round(v, 3)),
  })
  client.close()
  await system.terminate()
}

const cases = ['breaker', 'breaker-ask', ...clientsCases] as const

export const suite: Suite = {
  description: 'component actors: circuit breaker fast-path overhead per call vs a direct call, in the same run',
  cases,
  async run({ only }) {
    if (only === null || only.has('breaker')) {
      note('components.breaker')
      await breakerBench()
    }
    if (only === null || only.has('breaker-ask')) {
      note('components.breaker-ask')
      await breakerAskBench()
    }
    // Service clients (bench/componentsClients.ts): PgPool and RedisClient vs raw pg and ioredis.
    if (only === null || clientsCases.some((c) => only.has(c))) await clientsBench(only)
  },
}

export { breakerBench }
