import { expect, inject } from 'vitest'
import type { JetStreamClusterState } from '../../../cluster/index.ts'
import { clusterStateConformance } from '../../support/clusterStateConformance.ts'
import { JetStreamTestCluster } from './support.ts'

const LEASE_TTL_MS = 2000
const RENEW_MS = LEASE_TTL_MS / 4

clusterStateConformance({
  name: 'JetStreamClusterState on the real JetStream',
  lookupAnywhere: true,
  // The lease runs out within its TTL after the last renewal, and survivors try every renewal period; slack for a loaded machine.
  failoverMs: LEASE_TTL_MS + RENEW_MS + 5000,
  convergeMs: 20_000,
  async run(founders, scenario) {
    const c = new JetStreamTestCluster(inject('natsUrl'))
    try {
      for (const f of founders) await c.start(f)
      await c.until(() => founders.every((n) => founders.every((m) => c.member(n).members().find((x) => x.node === m)?.status === 'up')), 20_000, 'founders up')
      await scenario(c)
    } finally {
      await c.close()
    }
  },
  async beforeRestart(c) {
    const js = c as JetStreamTestCluster
    await js.until(() => ['n1', 'n2', 'n3'].some((n) => js.has(n) && js.member(n).stats().snapshotsWritten > 0), 20_000, 'a snapshot stored by the lease holder')
  },
  checkRestarted(state) {
    // It started from the stored snapshot (the log before it was compacted), not by replaying from sequence 1.
    expect((state as JetStreamClusterState).stats().snapshotsRestored).toBeGreaterThan(0)
  },
  report(what, value) {
    process.stderr.write(`[cluster-jetstream] ${what}: ${value.toFixed(0)} (lease TTL ${LEASE_TTL_MS} ms)\n`)
  },
})
