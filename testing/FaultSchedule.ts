import type { SimulatedCluster } from './SimulatedCluster.ts'

/** One fault at a virtual time (ms from when the schedule is applied). */
export type Fault =
  /** Kill the node; boot a new incarnation `restartAfterMs` later (null: it stays down). */
  | { readonly kind: 'crash'; readonly at: number; readonly node: string; readonly restartAfterMs: number | null }
  /** Freeze the node (a GC pause, a suspended VM) for `durationMs`. */
  | { readonly kind: 'pause'; readonly at: number; readonly node: string; readonly durationMs: number }
  /** Cut the links between two groups (or only `a` -> `b` when `oneWay`) for `durationMs`. */
  | { readonly kind: 'partition'; readonly at: number; readonly a: readonly string[]; readonly b: readonly string[]; readonly oneWay: boolean; readonly durationMs: number }

/** A list of faults; order does not matter (each has its time). */
export type FaultSchedule = readonly Fault[]

/**
 * Schedules every fault on the cluster's simulation, relative to now. Partitions heal exactly the
 * links they cut, when their duration ends (overlapping partitions of the same links heal with the
 * first to end: keep schedules simple, or write the faults by hand with `sim.at`).
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
        sim.at(at, () => (fault.oneWay ? network.partitionOneWay(fault.a, fault.b) : network.partition(fault.a, fault.b)), `fault: ${describeFault(fault)}`)
        sim.at(at + fault.durationMs, () => (fault.oneWay ? network.healOneWay(fault.a, fault.b) : network.heal(fault.a, fault.b)), `fault: heal ${fault.a.join(',')}|${fault.b.join(',')}`)
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
    case 'partition':
      return `t+${fault.at}: partition {${fault.a.join(',')}} ${fault.oneWay ? '->' : '|'} {${fault.b.join(',')}} for ${fault.durationMs} ms`
  }
}
