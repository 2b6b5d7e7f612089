/** NatsClusterPeerLink over a real nats-server: two node systems, each with its own connection. */
import { afterEach, describe, expect, inject, it } from 'vitest'
import { encodePeerMessage, NatsClusterPeerLink } from '../../../cluster/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'

const nodes: TestNode[] = []
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop()
})

describe('NatsClusterPeerLink over NATS', () => {
  it('carries frames both ways between node processes, refuses a forged `from`, and drops frames for a node that is gone', async () => {
    const cluster = uniqueCluster('cpl')
    const opts = { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 }, ackDelayMs: 1 } }
    const a = await startNode(inject('natsUrl'), cluster, 'a', opts)
    const b = await startNode(inject('natsUrl'), cluster, 'b', opts)
    nodes.push(a, b)
    const la = new NatsClusterPeerLink({ system: a.system, link: a.transport })
    const lb = new NatsClusterPeerLink({ system: b.system, link: b.transport })
    const got: { a: number; b: number } = { a: 0, b: 0 }
    la.onFrame(() => got.a++)
    lb.onFrame(() => got.b++)
    await waitFor(() => a.transport.members().includes('b') && b.transport.members().includes('a'), { timeoutMs: 10_000 })
    la.send('b', encodePeerMessage({ kind: 'probe', from: 'a#1', id: 1 }))
    await waitFor(() => got.b === 1, { timeoutMs: 10_000 })
    lb.send('a#1', encodePeerMessage({ kind: 'probe', from: 'b#1', id: 2 }))
    await waitFor(() => got.a === 1, { timeoutMs: 10_000 })
    la.send('b#1', encodePeerMessage({ kind: 'probe', from: 'c#1', id: 3 }))
    await waitFor(() => lb.stats.rejected === 1, { timeoutMs: 10_000 })
    expect(got.b).toBe(1)
    // b leaves: frames for it are dropped at the call, not retained.
    await b.stop()
    nodes.splice(nodes.indexOf(b), 1)
    await waitFor(() => !a.transport.members().includes('b'), { timeoutMs: 10_000 })
    la.send('b#1', encodePeerMessage({ kind: 'probe', from: 'a#1', id: 4 }))
    expect(la.stats.dropped).toBe(1)
  })
})
