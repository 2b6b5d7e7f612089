/** NatsClusterPeerLink over Remoting (LoopbackNetwork here; the integration test runs it over NATS). */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../../runtime/index.ts'
import { Remoting } from '../../../../transport/index.ts'
import { LoopbackNetwork, waitFor } from '../../../../testing/index.ts'
import { encodePeerMessage, NatsClusterPeerLink, type PeerMessage } from '../../../../cluster/index.ts'

const systems: ActorSystem[] = []
afterEach(async () => {
  for (const s of systems.splice(0)) await s.terminate()
})

function member(network: LoopbackNetwork, node: string): { system: ActorSystem; link: NatsClusterPeerLink; frames: PeerMessage['from'][] } {
  const system = ActorSystem.create({ name: 'cluster', node })
  new Remoting(system, network.attach({ system: 'cluster', node, shard: 0 }))
  systems.push(system)
  const link = new NatsClusterPeerLink({ system })
  const frames: string[] = []
  link.onFrame((f) => frames.push(new TextDecoder().decode(f.subarray(1))))
  return { system, link, frames }
}

const probe = (from: string, id = 1): Uint8Array => encodePeerMessage({ kind: 'probe', from, id })

describe('NatsClusterPeerLink', () => {
  it('delivers frames addressed by Raft id or by plain node name (first contact claimed by path), and learns the sender', async () => {
    const network = new LoopbackNetwork()
    const a = member(network, 'a')
    const b = member(network, 'b')
    a.link.send('b#3', probe('a#1', 1))
    a.link.send('b', probe('a#1', 2))
    await waitFor(() => b.frames.length === 2)
    expect(b.link.stats.claimed).toBeGreaterThanOrEqual(1)
    // b answers through the ref it learnt: no dead-letter claim on a's side after the first.
    b.link.send('a#1', probe('b#3', 3))
    await waitFor(() => a.frames.length === 1)
    expect(JSON.parse(a.frames[0] as string)).toMatchObject({ kind: 'probe', from: 'b#3', id: 3 })
    expect(b.link.stats).toMatchObject({ received: 2, malformed: 0, rejected: 0 })
  })

  it('a frame for this node itself is delivered locally (a seed list may name it)', async () => {
    const a = member(new LoopbackNetwork(), 'a')
    a.link.send('a', probe('a#1'))
    await waitFor(() => a.frames.length === 1)
  })

  it('refuses a claimed `from` that is not the sending node, and junk, counted and never delivered', async () => {
    const network = new LoopbackNetwork()
    const a = member(network, 'a')
    const b = member(network, 'b')
    member(network, 'c')
    a.link.send('b', probe('c#1'))
    await waitFor(() => b.link.stats.rejected === 1)
    const endpoint = a.system.refFor<{ peer(bytes: unknown, from: unknown): void }>({ system: 'cluster', node: 'b', shard: 0, path: '/user/cluster-state', uid: 0 })
    endpoint.tell('peer', 'not bytes', null)
    endpoint.tell('peer', new Uint8Array([1, 2, 3]), null)
    await waitFor(() => b.link.stats.malformed === 2)
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const before = b.link.stats.malformed + b.link.stats.rejected
        endpoint.tell('peer', bytes, (a.link as unknown as { self: ActorRef<unknown> }).self)
        await waitFor(() => b.link.stats.malformed + b.link.stats.rejected === before + 1)
      }),
      { numRuns: 50 },
    )
    expect(b.frames).toEqual([])
  })

  it('drops frames for a node the link view reports absent, and after close', () => {
    const network = new LoopbackNetwork()
    const system = ActorSystem.create({ name: 'cluster', node: 'a' })
    systems.push(system)
    new Remoting(system, network.attach({ system: 'cluster', node: 'a', shard: 0 }))
    const link = new NatsClusterPeerLink({ system, link: { members: () => [], onPeerUp: () => {}, onPeerDown: () => {} } })
    link.send('b#1', probe('a#1'))
    expect(link.stats.dropped).toBe(1)
    link.close()
    link.send('b#1', probe('a#1'))
    expect(link.stats).toMatchObject({ dropped: 1, sent: 0 })
  })
})
