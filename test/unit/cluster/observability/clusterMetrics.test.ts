import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { ClusterState, Member, MemberStatus } from '../../../../cluster/membership/index.ts'
import { ClusterMetrics } from '../../../../cluster/observability/index.ts'
import type { RaftNodeState } from '../../../../cluster/raft/index.ts'

function member(node: string, incarnation: number, status: MemberStatus): Member {
  return { node, incarnation, status, roles: [], shards: 1, httpAddress: '', appVersion: 'test', upNumber: 0 }
}

/** The part of the ClusterState port the metrics read. */
function fakeState(members: Member[], leader: { node: string; incarnation: number } | null): ClusterState {
  return {
    self: { node: 'n1', incarnation: 1 },
    members: () => members,
    leader: () => leader,
    position: () => ({ epoch: 7, appliedIndex: 42, term: 3 }),
  } as unknown as ClusterState
}

async function samples(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const family of await registry.getMetricsAsJSON()) {
    for (const value of family.values) {
      const labels = Object.entries(value.labels).map(([k, v]) => `${k}=${String(v)}`).join(',')
      out[`${family.name}{${labels}}`] = value.value
    }
  }
  return out
}

describe('ClusterMetrics', () => {
  it('counts members by status (every status exported), reads the Raft server, marks the leader', async () => {
    const registry = new Registry()
    const metrics = new ClusterMetrics(registry)
    const members = [member('n1', 1, 'up'), member('n2', 1, 'up'), member('n3', 2, 'joining'), member('n4', 1, 'down')]
    const raft = { term: 5, commitIndex: 40, role: 'leader' } as RaftNodeState
    metrics.observe({ backend: 'raft', state: () => fakeState(members, { node: 'n1', incarnation: 1 }), raft: () => raft })
    const s = await samples(registry)
    expect(s).toMatchObject({
      'troupe_cluster_members{status=up}': 2,
      'troupe_cluster_members{status=joining}': 1,
      'troupe_cluster_members{status=down}': 1,
      'troupe_cluster_members{status=leaving}': 0,
      'troupe_cluster_members{status=exiting}': 0,
      'troupe_cluster_members{status=removed}': 0,
      'troupe_cluster_raft_term{group=meta}': 5,
      'troupe_cluster_raft_commit_index{group=meta}': 40,
      'troupe_cluster_raft_role{group=meta,role=leader}': 1,
      'troupe_cluster_raft_role{group=meta,role=follower}': 0,
      'troupe_cluster_state_epoch{backend=raft}': 7,
      'troupe_cluster_state_applied_position{backend=raft}': 42,
      'troupe_cluster_leader{}': 1,
      'troupe_cluster_unreachable_members{}': 0,
    })
  })

  it('on JetStream: no Raft samples, the stream position; before the state exists: no members', async () => {
    const registry = new Registry()
    const metrics = new ClusterMetrics(registry)
    let state: ClusterState | null = null
    metrics.observe({ backend: 'jetstream', state: () => state, raft: () => null })
    const before = await samples(registry)
    expect(Object.keys(before).filter((k) => k.startsWith('troupe_cluster_members') || k.startsWith('troupe_cluster_raft') || k.startsWith('troupe_cluster_state'))).toEqual([])
    state = fakeState([member('n1', 1, 'up')], { node: 'n2', incarnation: 1 })
    const after = await samples(registry)
    expect(after['troupe_cluster_state_applied_position{backend=jetstream}']).toBe(42)
    expect(after['troupe_cluster_leader{}']).toBe(0)
    expect(Object.keys(after).filter((k) => k.startsWith('troupe_cluster_raft'))).toEqual([])
  })

  it('counts the live members this node’s detector suspects, and forgets a run the cluster downed', async () => {
    const registry = new Registry()
    const metrics = new ClusterMetrics(registry)
    const members = [member('n1', 1, 'up'), member('n2', 1, 'up'), member('n3', 1, 'up')]
    metrics.observe({ backend: 'raft', state: () => fakeState(members, null), raft: () => null })
    const reported: string[] = []
    const onVerdict = metrics.tapVerdicts((node: string, incarnation: string, suspected: boolean) => reported.push(`${node}#${incarnation}:${String(suspected)}`))
    onVerdict('n2', '1', true)
    onVerdict('n3', '1', true)
    expect(reported).toEqual(['n2#1:true', 'n3#1:true'])
    expect((await samples(registry))['troupe_cluster_unreachable_members{}']).toBe(2)
    onVerdict('n3', '1', false)
    expect((await samples(registry))['troupe_cluster_unreachable_members{}']).toBe(1)
    // The cluster downed n2#1: no longer a live member, no longer counted.
    members[1] = member('n2', 1, 'down')
    expect((await samples(registry))['troupe_cluster_unreachable_members{}']).toBe(0)
  })
})
