import { InvalidArgumentError, SeededRandom } from '../runtime/index.ts'
import type { Fault, FaultSchedule } from './FaultSchedule.ts'
import { deriveSeed } from './seeds.ts'
import type { SimDiskOptions } from './SimDisk.ts'
import type { NetworkConditions } from './SimulatedNetwork.ts'
import type { ClockModel } from './SimulationOptions.ts'

export interface SwarmOptions {
  /** Node names faults may hit. */
  readonly nodes: readonly string[]
  /** Faults happen within [0, horizonMs). Default 5000. */
  readonly horizonMs?: number
  /** Most scheduled faults. Default 6. */
  readonly maxFaults?: number
  /** Kinds the swarm may enable (each seed enables a random subset). Default all. */
  readonly kinds?: readonly Fault['kind'][]
}

/** One seed's fault parameters: which faults are on, and how hard they hit. */
export interface SwarmPlan {
  readonly seed: number
  readonly network: NetworkConditions
  readonly clocks: ClockModel
  readonly disk: SimDiskOptions
  readonly faults: FaultSchedule
  /** Names of what this seed turned on, for the failure report. */
  readonly enabled: readonly string[]
}

/**
 * Swarm testing (TigerBeetle's VOPR, Groce et al. 2012): rather than every fault at a moderate
 * rate on every run, each seed turns a random subset of fault kinds on, each at its own random
 * intensity. Some seeds then hammer one mechanism (heavy loss and nothing else, many crashes on a
 * quiet network), which finds bugs a uniform mix dilutes. Deterministic in the seed.
 */
export function swarm(seed: number, options: SwarmOptions): SwarmPlan {
  if (options.nodes.length === 0) throw new InvalidArgumentError('swarm needs at least one node')
  const r = new SeededRandom(deriveSeed(seed, 0x5a4a))
  const on = (p = 0.5): boolean => r.next() < p
  const enabled: string[] = []
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r.next() * items.length)] as T
  const maxLatency = pick([2, 5, 20, 100, 500])
  const network: NetworkConditions = {
    latency: { minMs: on(0.3) ? 0 : 1, maxMs: maxLatency },
    loss: on() ? (enabled.push('loss'), r.next() * 0.3) : 0,
    duplication: on(0.3) ? (enabled.push('duplication'), r.next() * 0.2) : 0,
    reorder: on(0.3) ? (enabled.push('reorder'), r.next()) : 0,
  }
  const clocks: ClockModel = on(0.4) ? (enabled.push('clock skew'), { maxSkewMs: r.next() * 500, maxDriftPpm: r.next() * 50_000 }) : {}
  const disk: SimDiskOptions = { tornWrites: on(0.7), readErrorRate: on(0.2) ? (enabled.push('read errors'), r.next() * 0.01) : 0 }
  if (disk.tornWrites === true) enabled.push('torn writes')
  const horizon = options.horizonMs ?? 5000
  const kinds = (options.kinds ?? ['crash', 'pause', 'partition', 'hold']).filter(() => on())
  const faults: Fault[] = []
  const count = kinds.length === 0 ? 0 : 1 + Math.floor(r.next() * (options.maxFaults ?? 6))
  const nodes = options.nodes
  const duration = (): number => 1 + Math.floor(r.next() * Math.min(2000, horizon))
  for (let i = 0; i < count; i++) {
    const kind = pick(kinds)
    const at = Math.floor(r.next() * horizon)
    const node = pick(nodes)
    if (kind === 'crash') faults.push({ kind, at, node, restartAfterMs: duration() })
    else if (kind === 'pause' || kind === 'hold') faults.push({ kind, at, node, durationMs: duration() })
    else if (nodes.length >= 2) {
      const a = nodes.filter(() => on())
      const side = a.length === 0 || a.length === nodes.length ? [node] : a
      faults.push({ kind: 'partition', at, a: side, b: nodes.filter((n) => !side.includes(n)), oneWay: on(0.25), durationMs: duration() })
    }
  }
  for (const kind of kinds) enabled.push(kind)
  return { seed, network, clocks, disk, faults, enabled }
}
