import { describe, expect, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../../runtime/index.ts'
import { RaftCodec, RemoteRaftTransport, type RaftEndpointProtocol, type RaftMessage } from '../../../../cluster/index.ts'
import { waitFor } from '../../../../testing/index.ts'

/* The Raft endpoint actor is supervised (by the user guardian): a failure while it handles a message restarts it, and the group carries on. */
describe('RemoteRaftTransport endpoint supervision', () => {
  it('a failing endpoint /user/raft-<group> is restarted; later messages still reach Raft', async () => {
    const system = ActorSystem.create({ name: 'raft-sup', node: 'a' })
    try {
      const transport = new RemoteRaftTransport({ system, group: 'g', id: 'a', peers: { b: 'b' } })
      const got: RaftMessage[] = []
      let failNext = true
      transport.onMessage((m) => {
        if (failNext) {
          failNext = false
          throw new Error('state machine bug')
        }
        got.push(m)
      })
      await waitFor(() => transport.stats.endpointStarts === 1, { timeoutMs: 5000 })
      const endpoint = system.resolvePath<RaftEndpointProtocol>('/user/raft-g') as ActorRef<RaftEndpointProtocol>
      expect(endpoint).toBeDefined()
      // A message from peer b as it would arrive from node b's endpoint.
      const fromB = system.refFor<RaftEndpointProtocol>({ system: system.name, node: 'b', shard: 0, path: '/user/raft-g', uid: 7 })
      const codec = new RaftCodec()
      const heartbeat = (term: number) => codec.encode({ kind: 'heartbeat', from: 'b', to: 'a', term, commit: 0, context: 0 })
      endpoint.tell('raft', heartbeat(1), fromB)
      await waitFor(() => transport.stats.endpointStarts === 2, { timeoutMs: 5000 })
      const again = system.resolvePath<RaftEndpointProtocol>('/user/raft-g') as ActorRef<RaftEndpointProtocol>
      again.tell('raft', heartbeat(2), fromB)
      await waitFor(() => got.length === 1, { timeoutMs: 5000 })
      expect(got[0]).toMatchObject({ kind: 'heartbeat', from: 'b', term: 2 })
      transport.close()
    } finally {
      await system.terminate()
    }
  })
})
