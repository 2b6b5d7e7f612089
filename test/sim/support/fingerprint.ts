/**
 * The determinism fingerprint scenario: five nodes, a lossy reordering network, a crash and
 * restart, a partition and a GC pause, async handlers, asks with timeouts and virtual sleeps. Run
 * from a test in-process, and as a script in a child process (`node --import tsx fingerprint.ts 42`
 * prints the result as JSON), so the two can be compared.
 */
import { fileURLToPath } from 'node:url'
import { Simulation, applyFaults } from '../../../testing/index.ts'
import { leaseLockCluster } from './leaseLock.ts'

export interface Fingerprint {
  readonly seed: number
  readonly hash: string
  readonly steps: number
  readonly events: number
  readonly deliveries: number
  readonly writes: number
  readonly now: number
}

export async function fingerprint(seed: number): Promise<Fingerprint> {
  const sim = new Simulation({ seed })
  const { cluster, ghost } = leaseLockCluster(sim, {
    fenced: true,
    clients: ['n2', 'n3', 'n4', 'n5'],
    network: { latency: { minMs: 1, maxMs: 15 }, loss: 0.02, reorder: 0.1 },
    invariant: false,
  })
  applyFaults(cluster, [
    { kind: 'crash', at: 500, node: 'n5', restartAfterMs: 150 },
    { kind: 'partition', at: 800, a: ['n2'], b: ['n1', 'n3', 'n4', 'n5'], oneWay: false, durationMs: 300 },
    { kind: 'pause', at: 1200, node: 'n3', durationMs: 250 },
  ])
  await sim.advance(2500)
  return { seed, hash: sim.traceHash, steps: sim.steps, events: sim.eventCount, deliveries: sim.stats.deliveries, writes: ghost.writes, now: sim.now }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const seeds = process.argv.slice(2).map(Number)
  const results: Fingerprint[] = []
  for (const seed of seeds) results.push(await fingerprint(seed))
  process.stdout.write(`${JSON.stringify(results)}\n`)
}
