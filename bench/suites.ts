/**
 * The suite registry: `npm run bench -- <name>` runs one suite, no name runs every default suite.
 * Suites load lazily so running `core` never imports NATS clients or worker code. To add a suite,
 * export `suite: Suite` from `bench/<name>.ts` and add one entry here.
 */
import type { Suite } from './harness.ts'

export interface SuiteEntry {
  readonly load: () => Promise<{ readonly suite: Suite }>
  /**
   * Left out of a bare `npm run bench`: the suite needs something the main install does not have
   * (nact installs its own package on demand). Run it by name.
   */
  readonly onDemand?: boolean
}

export const suites: Readonly<Record<string, SuiteEntry>> = {
  core: { load: () => import('./core.ts') },
  supervision: { load: () => import('./supervision.ts') },
  routers: { load: () => import('./routers.ts') },
  sim: { load: () => import('./sim.ts') },
  shards: { load: () => import('./shards.ts') },
  observability: { load: () => import('./observability.ts') },
  nact: { load: () => import('./nactSuite.ts'), onDemand: true },
  nats: { load: () => import('./nats.ts'), onDemand: true },
  wasm: { load: () => import('./wasm.ts') },
  'raft-storage': { load: () => import('./raftStorage.ts') },
  components: { load: () => import('./components.ts') },
  raft: { load: () => import('./raft.ts') },
  cluster: { load: () => import('./cluster.ts') },
  limiter: { load: () => import('./limiter.ts'), onDemand: true },
  'raft-nats': { load: () => import('./raftNats.ts'), onDemand: true },
  dashboard: { load: () => import('./dashboard.ts') },
  'cluster-jetstream': { load: () => import('./clusterJetstream.ts'), onDemand: true },
  kafka: { load: () => import('./kafka.ts'), onDemand: true },
  cache: { load: () => import('./cache.ts'), onDemand: true },
  taskqueue: { load: () => import('./taskqueue.ts'), onDemand: true },
  'cluster-features': { load: () => import('./clusterFeatures.ts') },
}
