/** RemoteRaftTransport over a real nats-server: three RaftNodes in one process, each on its own ActorSystem, NATS connection and data dir. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../runtime/index.ts'
import { RaftCodec, RaftNode, RemoteRaftTransport, RaftProtocolErrorCodes, type RaftEndpointProtocol, type RaftNodeState } from '../../../cluster/index.ts'
import { FileRaftStorage } from '../../../cluster/raft/FileRaftStorage.ts'
import { waitFor, waitForValue } from '../../../testing/index.ts'
import { startNode, type TestNode } from '../../support/natsNodes.ts'
import { uniqueCluster } from '../../support/services.ts'

const IDS = ['n1', 'n2', 'n3'] as const

interface Server {
  readonly id: string
  readonly node: TestNode
  readonly transport: RemoteRaftTransport
  readonly raft: RaftNode
  readonly applied: string[]
  /** Snapshots the state machine received, by size (a restarted or late server is caught up by one). */
  readonly snapshots: number[]
}

/** The state machine's snapshot: its command count in the first 4 bytes, padded to SNAPSHOT_BYTES (bigger than one actor message). */
const SNAPSHOT_BYTES = 3 * 1024 * 1024

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function server(cluster: string, id: string, dir: string, extra: { snapshotEvery?: number; maxUnansweredBytes?: number } = {}): Promise<Server> {
  const node = await startNode(inject('natsUrl'), cluster, id, { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 }, ackDelayMs: 1 } })
  const peers: Record<string, string> = {}
  for (const p of IDS) if (p !== id) peers[p] = p
  const transport = new RemoteRaftTransport({ system: node.system, group: 'meta', id, peers, link: node.transport, ...(extra.maxUnansweredBytes !== undefined ? { maxUnansweredBytes: extra.maxUnansweredBytes } : {}) })
  const applied: string[] = []
  const snapshots: number[] = []
  const decoder = new TextDecoder()
  const raft = await RaftNode.start({
    id,
    storage: new FileRaftStorage({ dir: join(dir, id) }),
    transport,
    clock: node.system.clock,
    random: node.system.random,
    heartbeatMs: 100,
    electionMs: 300,
    initialConfig: { voters: [...IDS], learners: [] },
    ...transport.sizeOptions(),
    ...(extra.snapshotEvery !== undefined ? { snapshotEvery: extra.snapshotEvery } : {}),
    snapshot: () => {
      const data = new Uint8Array(SNAPSHOT_BYTES).fill(7)
      new DataView(data.buffer).setUint32(0, applied.length)
      return data
    },
    onApplied: (a) => {
      if (a.kind === 'command') applied.push(decoder.decode(a.command))
      else {
        snapshots.push(a.data.byteLength)
        // The state machine restores from the snapshot: its count of commands.
        applied.length = 0
        const count = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength).getUint32(0)
        for (let i = 0; i < count; i++) applied.push('(snapshot)')
      }
    },
  })
  cleanups.push(async () => {
    await raft.stop()
    await node.stop()
  })
  return { id, node, transport, raft, applied, snapshots }
}

async function group(extra: { maxUnansweredBytes?: number } = {}): Promise<{ cluster: string; servers: Server[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'raft-remote-'))
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
  const cluster = uniqueCluster('raft')
  const servers = await Promise.all(IDS.map((id) => server(cluster, id, dir, extra)))
  return { cluster, servers }
}

async function leaderOf(servers: readonly Server[]): Promise<Server> {
  const states = await waitForValue(
    () => servers.map((s) => s.raft.state()),
    (ss: RaftNodeState[]) => {
      const leader = ss.find((s) => s.role === 'leader')
      return leader !== undefined && ss.every((s) => s.term === leader.term && s.leaderId === leader.id)
    },
    { timeoutMs: 15_000 },
  )
  return servers[states.findIndex((s) => s.role === 'leader')] as Server
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('RemoteRaftTransport over NATS', () => {
  it('elects and commits; a turn of 1000 proposals crosses in a few batched messages per follower', async () => {
    const { servers } = await group()
    const leader = await leaderOf(servers)
    const sentBefore = leader.transport.stats.sent
    const framesBefore = leader.node.remoting.stats.framesOut
    const cmds = Array.from({ length: 1000 }, (_, i) => `x${i}`)
    for (const c of cmds) expect(leader.raft.propose(encode(c)).isLeader).toBe(true)
    await waitFor(() => servers.every((s) => s.applied.length >= 1000), { timeoutMs: 15_000 })
    for (const s of servers) expect(s.applied).toEqual(cmds)
    // Batching and pipelining survive the hop: far fewer messages than entries × followers, and
    // Remoting packs a turn's messages for one peer into one frame.
    const sent = leader.transport.stats.sent - sentBefore
    expect(sent).toBeLessThan(200)
    expect(leader.node.remoting.stats.framesOut - framesBefore).toBeLessThanOrEqual(sent)
    // First contact went by path and was claimed; the leader and its followers then learnt each other's incarnations.
    for (const s of servers) {
      if (s === leader) for (const p of IDS) expect(p === s.id || s.transport.knows(p)).toBe(true)
      else expect(s.transport.knows(leader.id)).toBe(true)
    }
    expect(servers.reduce((n, s) => n + s.transport.stats.claimed, 0)).toBeGreaterThan(0)
  })

  it('counts and drops hostile input (garbage, non-bytes, forged senders) and keeps committing', async () => {
    const { cluster, servers } = await group()
    const leader = await leaderOf(servers)
    const target = servers.find((s) => s !== leader) as Server
    const termBefore = target.raft.state().term
    // A member of the cluster (it passes the link) that is not in the Raft group.
    const evil = await startNode(inject('natsUrl'), cluster, 'evil', { transport: { heartbeat: { intervalMs: 100, timeoutMs: 1000 } } })
    cleanups.push(() => evil.stop())
    const endpoint = evil.system.refFor<RaftEndpointProtocol>({ system: evil.system.name, node: target.id, shard: 0, path: '/user/raft-meta', uid: 0 })
    const fakeFrom = evil.system.refFor<RaftEndpointProtocol>({ system: evil.system.name, node: 'evil', shard: 0, path: '/user/raft-meta', uid: 1 })
    const codec = new RaftCodec()
    const forgedVote = codec.encode({ kind: 'vote', from: leader.id, to: target.id, term: termBefore + 100, preVote: false, transfer: false, lastIndex: 1e6, lastTerm: termBefore + 99 })
    const strangerVote = codec.encode({ kind: 'vote', from: 'evil', to: target.id, term: termBefore + 100, preVote: false, transfer: false, lastIndex: 1e6, lastTerm: termBefore + 99 })
    const misaddressed = codec.encode({ kind: 'heartbeat', from: leader.id, to: 'someone-else', term: termBefore, commit: 0, context: 0 })
    await waitFor(() => evil.transport.members().includes(target.id), { timeoutMs: 10_000 })
    endpoint.tell('raft', new Uint8Array([1, 2, 3, 4]), fakeFrom)
    endpoint.tell('raft', new Uint8Array([1, 0, 255, 255, 255, 255, 15]), fakeFrom)
    ;(endpoint as ActorRef<{ raft(bytes: unknown, from: unknown): void }>).tell('raft', 'not bytes', fakeFrom)
    // A real peer's id, sent from another node: forged.
    endpoint.tell('raft', forgedVote, fakeFrom)
    // A sender that is not a member of the group.
    endpoint.tell('raft', strangerVote, fakeFrom)
    endpoint.tell('raft', misaddressed, fakeFrom)
    // A real peer's id with that peer's own node, but not through its endpoint's path: forged too.
    const wrongPath = evil.system.refFor<RaftEndpointProtocol>({ system: evil.system.name, node: leader.id, shard: 0, path: '/user/not-raft', uid: 1 })
    endpoint.tell('raft', forgedVote, wrongPath)
    await waitFor(() => target.transport.stats.malformed >= 3 && target.transport.stats.rejected >= 2 && target.transport.stats.forged >= 2, { timeoutMs: 10_000 })
    expect(target.transport.stats.malformed).toBe(3)
    expect(target.transport.stats.rejected).toBe(2)
    expect(target.transport.stats.forged).toBe(2)
    // None of it reached the core: no term jump, same leader.
    expect(target.raft.state().term).toBe(termBefore)
    expect(target.raft.state().leaderId).toBe(leader.id)
    expect(leader.raft.propose(encode('after')).isLeader).toBe(true)
    await waitFor(() => servers.every((s) => s.applied.includes('after')), { timeoutMs: 10_000 })
  })

  it('drops messages for a peer that is down at once; the other two keep committing', async () => {
    const { servers } = await group()
    const leader = await leaderOf(servers)
    const gone = servers.find((s) => s !== leader) as Server
    const stays = servers.filter((s) => s !== gone)
    // Stop the follower's whole node without a word to Raft (as a crash looks to its peers).
    gone.raft.halt()
    await gone.node.stop()
    await waitFor(() => leader.transport.stats.droppedUnreachable > 0, { timeoutMs: 10_000 })
    const refusedBefore = leader.transport.stats.droppedRefused
    const cmds = Array.from({ length: 300 }, (_, i) => `y${i}`)
    for (const c of cmds) leader.raft.propose(encode(c))
    await waitFor(() => stays.every((s) => s.applied.length >= 300), { timeoutMs: 10_000 })
    for (const s of stays) expect(s.applied).toEqual(cmds)
    const droppedBefore = leader.transport.stats.droppedUnreachable
    // Heartbeats and appends for the absent peer keep being dropped at the call, not queued.
    await waitFor(() => leader.transport.stats.droppedUnreachable > droppedBefore + 3, { timeoutMs: 5000 })
    expect(leader.transport.stats.droppedRefused).toBe(refusedBefore)
  })

  it('property: whatever bytes arrive, each is counted as malformed or rejected and none reaches Raft', async () => {
    const system = ActorSystem.create({ name: 'fuzz', node: 'n1' })
    const transport = new RemoteRaftTransport({ system, group: 'meta', id: 'n1', peers: { n2: 'n2', n3: 'n3' } })
    let delivered = 0
    transport.onMessage(() => delivered++)
    const endpoint = system.resolvePath<RaftEndpointProtocol>('/user/raft-meta') as ActorRef<RaftEndpointProtocol>
    const codec = new RaftCodec()
    // Valid encodings too: a local sender is never the node its Raft id is bound to.
    const valid = fc.record({ term: fc.nat(), commit: fc.nat() }).map(({ term, commit }) => codec.encode({ kind: 'heartbeat', from: 'n2', to: 'n1', term, commit, context: 0 }))
    let sent = 0
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.oneof(fc.uint8Array({ maxLength: 256 }), valid), { maxLength: 20 }), async (batch) => {
          for (const bytes of batch) endpoint.tell('raft', bytes, endpoint)
          sent += batch.length
          await waitFor(() => transport.stats.malformed + transport.stats.rejected + transport.stats.forged === sent, { timeoutMs: 5000 })
          expect(delivered).toBe(0)
        }),
        { numRuns: 100 },
      )
    } finally {
      transport.close()
      await system.terminate()
    }
  })

  it('a peer gone silent (not yet declared down) gets at most maxUnansweredBytes of appends; the other follower is not held up', async () => {
    const { servers } = await group({ maxUnansweredBytes: 256 * 1024 })
    const leader = await leaderOf(servers)
    const silent = servers.find((s) => s !== leader) as Server
    const live = servers.find((s) => s !== leader && s !== silent) as Server
    // Steady replication first, so the leader pipelines appends to both followers.
    for (let i = 0; i < 20; i++) leader.raft.propose(encode(`w${i}`))
    await waitFor(() => servers.every((s) => s.applied.length >= 20), { timeoutMs: 10_000, message: `warm-up: ${JSON.stringify(servers.map((s) => [s.raft.state(), s.transport.stats]))}` })
    // Its NATS connection drops without a leave: the link learns it only at the heartbeat timeout (1 s).
    silent.raft.halt()
    await silent.node.connection.close()
    const payload = 'p'.repeat(20_000)
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 10; i++) leader.raft.propose(encode(`${turn}-${i}-${payload}`))
      await waitFor(() => live.applied.length >= 20 + (turn + 1) * 10, { timeoutMs: 10_000, message: `turn ${turn}: ${JSON.stringify({ leader: leader.transport.stats, live: live.transport.stats, ls: leader.raft.state(), fs: live.raft.state(), applied: live.applied.length })}` })
    }
    expect(leader.transport.stats.droppedUnanswered).toBeGreaterThan(0)
    expect(leader.transport.stats.droppedRefused).toBe(0)
    expect(live.applied).toHaveLength(120)
    expect(leader.raft.state().commitIndex).toBe(live.raft.state().commitIndex)
  })

  it('a server that starts late catches up through a chunked InstallSnapshot larger than one actor message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'raft-remote-'))
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }))
    const cluster = uniqueCluster('raft')
    const two = await Promise.all(['n1', 'n2'].map((id) => server(cluster, id, dir, { snapshotEvery: 100 })))
    const leader = await waitForValue(
      () => two.find((s) => s.raft.state().role === 'leader'),
      (s) => s !== undefined,
      { timeoutMs: 15_000 },
    )
    const cmds = Array.from({ length: 250 }, (_, i) => `z${i}`)
    for (const c of cmds) leader!.raft.propose(encode(c))
    await waitFor(() => two.every((s) => s.applied.length >= 250 && s.raft.logEntries().snapshotIndex > 0), { timeoutMs: 15_000 })
    const late = await server(cluster, 'n3', dir, { snapshotEvery: 100 })
    expect(late.raft.logEntries().snapshotIndex).toBe(0)
    await waitFor(() => late.applied.length >= 250, { timeoutMs: 20_000 })
    expect(late.snapshots).toEqual([SNAPSHOT_BYTES])
    expect(late.applied.slice(late.applied.lastIndexOf('(snapshot)') + 1)).toEqual(cmds.slice(late.applied.lastIndexOf('(snapshot)') + 1))
    expect(late.raft.state().appliedIndex).toBe(leader!.raft.state().appliedIndex)
    for (const s of [...two, late]) expect(s.transport.stats.droppedTooLarge).toBe(0)
  })

  it('refuses bad options with a typed error', () => {
    const system = ActorSystem.create({ name: 'opts', node: 'n1' })
    try {
      expect(() => new RemoteRaftTransport({ system, group: 'bad group', id: 'n1', peers: {} })).toThrow(expect.objectContaining({ code: RaftProtocolErrorCodes.InvalidOptions }))
      expect(() => new RemoteRaftTransport({ system, group: 'g', id: 'n1', peers: { n1: 'n1' } })).toThrow(expect.objectContaining({ code: RaftProtocolErrorCodes.InvalidOptions }))
    } finally {
      void system.terminate()
    }
  })
})
