import { inject, describe, expect, it, afterAll } from 'vitest'
import { TroupeClient } from '../../client/index.ts'
import type { TransfersProtocol } from '../../examples/bank/Transfers.ts'
import type { ProbeProtocol } from './fixtures/probeApp.ts'
import { startNodeProcess, type NodeProcess } from './support.ts'

const nodes: NodeProcess[] = []
afterAll(() => {
  for (const node of nodes) node.child.kill('SIGKILL')
})

/** Polls an async probe until it passes (real processes: no virtual time here). */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe().catch((error: unknown) => error as T)
    if (accept(value)) return value
    if (Date.now() > deadline) throw new Error(`not accepted within ${timeoutMs} ms: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('three real nodes over NATS', () => {
  it('serves through a kill -9 of one node; watchers and asks see node-down; a sharded node answers from its worker shards; SIGTERM exits 0', async () => {
    const natsUrl = inject('natsUrl')
    const cluster = `c${process.pid}${Date.now() % 100000}`
    for (const name of ['n1', 'n2', 'n3']) {
      // n2 runs its actors in 2 worker shards besides its main thread, each shard with its own NATS link.
      const shards = name === 'n2' ? ['--shards', '2'] : []
      const node = startNodeProcess(
        ['start', '--app', 'test/cluster/fixtures/probeApp.ts', '--name', name, '--cluster', cluster, '--nats', natsUrl, '--http', '', ...shards],
        { TROUPE_HEARTBEAT_MS: '200', TROUPE_DOWN_AFTER_MS: '1500' },
      )
      nodes.push(node)
    }
    await Promise.all(nodes.map((n) => n.waitForLog((l) => l['msg'] === 'node started')))
    const [n1, , n3] = nodes as [NodeProcess, NodeProcess, NodeProcess]

    const client = await TroupeClient.connect({ servers: natsUrl, cluster })
    try {
      const transfers = client.actor<TransfersProtocol>('bank.transfers')
      const probe1 = client.actor<ProbeProtocol>('probe.n1')
      const probe3 = client.actor<ProbeProtocol>('probe.n3')
      // Every node is up and reachable from outside (published names are gossiped between gateways).
      for (const name of ['n1', 'n2', 'n3']) {
        await eventually(() => client.actor<ProbeProtocol>(`probe.${name}`).ask('ping'), (v) => v === `pong from ${name}`)
      }

      // n1's main thread asks a probe on n2's worker shard 2 directly (its own subject and link), and back.
      const onShard2 = await client.actor<ProbeProtocol>('probe.n2').ask('spawnOnShard', 2)
      expect(onShard2).toMatchObject({ node: 'n2', shard: 2 })
      expect(await probe1.ask('whereIs', onShard2)).toBe('n2:2')

      // n1 watches n3's probe and keeps an ask in flight to it.
      const address3 = await probe3.ask('address')
      await probe1.ask('watch', address3)
      const inFlight = probe1.ask('askPeer', address3, 15_000)

      n3.child.kill('SIGKILL')
      expect(await n3.exited).toBe('SIGKILL')

      // The ask fails fast with the typed node-down outcome (well before its 15 s timeout).
      expect(await inFlight).toBe('ERR_NODE_DOWN')
      const terminations = await eventually(() => probe1.ask('terminations'), (t) => Array.isArray(t) && t.length === 1)
      expect(terminations[0]).toEqual({ path: '/user/probe', reason: { kind: 'node-down', node: 'n3' } })

      // The survivors keep serving external calls (the published name is shared by the gateways).
      for (let i = 0; i < 20; i++) {
        const stats = await transfers.ask('stats')
        expect(stats.unsettled).toEqual([])
      }
    } finally {
      await client.close()
    }

    // A graceful stop drains and exits 0, the sharded node's worker shards included.
    const n2 = nodes[1] as NodeProcess
    n1.child.kill('SIGTERM')
    n2.child.kill('SIGTERM')
    expect(await n1.exited).toBe(0)
    expect(await n2.exited).toBe(0)
    expect(n1.output()).toContain('"outcome":"stopped"')
    expect(n2.output()).toContain('"outcome":"stopped"')
  })
})
