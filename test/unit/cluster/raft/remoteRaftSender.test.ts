import { describe, expect, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../../runtime/index.ts'
import { RaftCodec, RemoteRaftTransport, type RaftEndpointProtocol, type RaftMessage } from '../../../../cluster/index.ts'
import { waitFor } from '../../../../testing/index.ts'

/* A node speaks only for the Raft id bound to it: the sender ref must be the group's endpoint on that id's node, in this system. */
describe('RemoteRaftTransport sender binding', () => {
  it('counts as forged a sender on another node, path or system, delivers none of them, and learns the true one', async () => {
    const system = ActorSystem.create({ name: 'raft-bind', node: 'a' })
    try {
      const transport = new RemoteRaftTransport({ system, group: 'g', id: 'a', peers: { b: 'b' } })
      const got: RaftMessage[] = []
      transport.onMessage((m) => got.push(m))
      await waitFor(() => transport.stats.endpointStarts === 1, { timeoutMs: 5000 })
      const endpoint = system.resolvePath<RaftEndpointProtocol>('/user/raft-g') as ActorRef<RaftEndpointProtocol>
      const sender = (over: Partial<{ system: string; node: string; path: string }>) =>
        system.refFor<RaftEndpointProtocol>({ system: system.name, node: 'b', shard: 0, path: '/user/raft-g', uid: 7, ...over })
      const codec = new RaftCodec()
      const heartbeat = (term: number) => codec.encode({ kind: 'heartbeat', from: 'b', to: 'a', term, commit: 0, context: 0 })
      endpoint.tell('raft', heartbeat(1), sender({ node: 'c' }))
      endpoint.tell('raft', heartbeat(2), sender({ path: '/user/raft-other' }))
      endpoint.tell('raft', heartbeat(3), sender({ system: 'intruder' }))
      await waitFor(() => transport.stats.forged === 3, { timeoutMs: 5000 })
      expect(transport.knows('b')).toBe(false)
      endpoint.tell('raft', heartbeat(4), sender({}))
      await waitFor(() => got.length === 1, { timeoutMs: 5000 })
      expect(got[0]).toMatchObject({ from: 'b', term: 4 })
      expect(transport.knows('b')).toBe(true)
      expect(transport.stats).toMatchObject({ forged: 3, received: 1 })
      transport.close()
    } finally {
      await system.terminate()
    }
  })
})
