import type { Cut } from './Partitions.ts'
import type { SimulatedCluster } from './SimulatedCluster.ts'
import type { Hold } from './SimulatedNetwork.ts'

/** One fault at a virtual time (ms from when the schedule is applied). */
export type Fault =
  /** Kill the node; boot a new incarnation `restartAfterMs` later (null: it stays down). */
  | { readonly kind: 'crash'; readonly at: number; readonly node: string; readonly restartAfterMs: number | null }
  /** Freeze the node (a GC pause, a suspended VM) for `durationMs`. */
  | { readonly kind: 'pause'; readonly at: number; readonly node: string; readonly durationMs: number }
  /** Cut the links between two groups (or only `a` -> `b` when `oneWay`) for `durationMs`. */
  | { readonly kind: 'partition'; readonly at: number; readonly a: readonly string[]; readonly b: readonly string[]; readonly oneWay: boolean; readonly durationMs: number }
  /** Hold every frame to and from the node for `durationMs`, then deliver them late (in order). */
  | { readonly kind: 'hold'; readonly at: number; readonly node: string; readonly durationMs: number }

/** A list of faults; order does not matter (each has its time). */
export type FaultSchedule = readonly Fault[]

/**
 * Schedules every fault on the cluster's simulation, relative to now. Each partition heals its own
 * cut when its duration ends: overlapping partitions of the same links heal independently (a link
 * comes back when no partition still cuts it).
 */
export function applyFaults(cluster: SimulatedCluster, faults: FaultSchedule): void {
  const sim = cluster.sim
  const start = sim.now
  for (const fault of faults) {
    const at = start + fault.at
    switch (fault.kind) {
      case 'crash':
        sim.at(at, () => cluster.crash(fault.node), `fault: crash ${fault.node}`)
        if (fault.restartAfterMs !== null) sim.at(at + fault.restartAfterMs, () => cluster.restart(fault.node), `fault: restart ${fault.node}`)
        break
      case 'pause':
        sim.at(at, () => cluster.pause(fault.node), `fault: pause ${fault.node}`)
        sim.at(at + fault.durationMs, () => cluster.resume(fault.node), `fault: resume ${fault.node}`)
        break
      case 'partition': {
        const network = cluster.network
        let cut: Cut | null = null
        sim.at(at, () => (cut = fault.oneWay ? network.partitionOneWay(fault.a, fault.b) : network.partition(fault.a, fault.b)), `fault: ${describeFault(fault)}`)
        sim.at(at + fault.durationMs, () => cut?.heal(), `fault: heal ${fault.a.join(',')}|${fault.b.join(',')}`)
        break
      }
      case 'hold': {
        let hold: Hold | null = null
        sim.at(at, () => (hold = cluster.network.hold(fault.node)), `fault: ${describeFault(fault)}`)
        sim.at(at + fault.durationMs, () => hold?.release(), `fault: release ${fault.node}`)
        break
      }
    }
  }
}

/** One line per fault, in time order: what a failing property prints as its counterexample. */
export function describeFaults(faults: FaultSchedule): string {
  if (faults.length === 0) return '(no faults)'
  return [...faults]
    .sort((x, y) => x.at - y.at)
    .map(describeFault)
    .join('\n')
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'crash':
      return `t+${fault.at}: crash ${fault.node}${fault.restartAfterMs === null ? ' (stays down)' : `, restart after ${fault.restartAfterMs} ms`}`
    case 'pause':
      return `t+${fault.at}: pause ${fault.node} for ${fault.durationMs} ms`
    case 'hold':
      return `t+${fault.at}: hold frames of ${fault.node} for ${fault.durationMs} ms`
    case 'partition':
      return `t+${fault.at}: partition {${fault.a.join(',')}} ${fault.oneWay ? '->' : '|'} {${fault.b.join(',')}} for ${fault.durationMs} ms`
  }
}
