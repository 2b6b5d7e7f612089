import { tpKey, type GroupMetadata, type RebalanceListener, type TopicPartition, type TopicPartitionOffset } from '../KafkaPort.ts'
import type { GroupView } from './TwinCoordinator.ts'

/** A rebalance a member has not seen yet: it learns it in its next poll (revoke, then assign). */
export interface PendingRebalance {
  readonly revoke: TopicPartition[]
  readonly assign: TopicPartition[]
  readonly generation: number
}

export interface TwinMember {
  readonly id: string
  readonly groupId: string
  readonly topics: readonly string[]
  readonly listener: RebalanceListener
  readonly sessionTimeoutMs: number
  assignment: TopicPartition[]
  generation: number
  lastSeen: number
  pending: PendingRebalance | null
}

interface Group {
  readonly id: string
  generation: number
  readonly members: Map<string, TwinMember>
  readonly committed: Map<string, number>
}

/**
 * Consumer groups of the twin, eager protocol: any join, leave or eviction (no poll within the
 * session timeout, checked lazily) starts a new generation that revokes every assignment and
 * hands the partitions out again, round robin over the members sorted by id.
 */
export class TwinGroups implements GroupView {
  private readonly groups = new Map<string, Group>()
  private nextMember = 1
  private readonly now: () => number
  private readonly partitionsOf: (topic: string) => number

  constructor(now: () => number, partitionsOf: (topic: string) => number) {
    this.now = now
    this.partitionsOf = partitionsOf
  }

  join(groupId: string, clientId: string, topics: readonly string[], listener: RebalanceListener, sessionTimeoutMs: number): TwinMember {
    const group = this.group(groupId)
    const member: TwinMember = { id: `${clientId}-${this.nextMember++}`, groupId, topics, listener, sessionTimeoutMs, assignment: [], generation: -1, lastSeen: this.now(), pending: null }
    group.members.set(member.id, member)
    this.rebalance(group)
    return member
  }

  leave(member: TwinMember): void {
    const group = this.groups.get(member.groupId)
    if (group === undefined || !group.members.delete(member.id)) return
    this.rebalance(group)
  }

  isMember(member: TwinMember): boolean {
    return this.groups.get(member.groupId)?.members.get(member.id) === member
  }

  isCurrent(meta: GroupMetadata): boolean {
    const group = this.groups.get(meta.groupId)
    return group !== undefined && group.generation === meta.generationId && group.members.has(meta.memberId)
  }

  committed(groupId: string, topic: string, partition: number): number | null {
    return this.groups.get(groupId)?.committed.get(tpKey(topic, partition)) ?? null
  }

  commit(groupId: string, offsets: Iterable<TopicPartitionOffset>): void {
    const group = this.group(groupId)
    for (const o of offsets) group.committed.set(tpKey(o.topic, o.partition), o.offset)
  }

  /** Evicts members silent for longer than their session timeout. */
  sweep(): void {
    const now = this.now()
    for (const group of this.groups.values()) {
      let evicted = false
      for (const member of group.members.values()) {
        if (now - member.lastSeen > member.sessionTimeoutMs) {
          group.members.delete(member.id)
          evicted = true
        }
      }
      if (evicted) this.rebalance(group)
    }
  }

  /** A new topic (or more partitions) changes what subscribed groups must spread. */
  topicChanged(topic: string): void {
    for (const group of this.groups.values()) {
      if ([...group.members.values()].some((m) => m.topics.includes(topic))) this.rebalance(group)
    }
  }

  generationOf(groupId: string): number {
    return this.groups.get(groupId)?.generation ?? 0
  }

  private group(id: string): Group {
    let group = this.groups.get(id)
    if (group === undefined) this.groups.set(id, (group = { id, generation: 0, members: new Map(), committed: new Map() }))
    return group
  }

  private rebalance(group: Group): void {
    group.generation++
    const members = [...group.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const next = new Map<string, TopicPartition[]>(members.map((m) => [m.id, []]))
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort()
    for (const topic of topics) {
      const takers = members.filter((m) => m.topics.includes(topic))
      const n = this.partitionsOf(topic)
      for (let p = 0; p < n; p++) next.get((takers[p % takers.length] as TwinMember).id)?.push({ topic, partition: p })
    }
    for (const member of members) {
      // A member that has not seen the previous rebalance still holds what it had before it.
      const held = member.pending === null ? member.assignment : member.pending.revoke
      member.pending = { revoke: held, assign: next.get(member.id) ?? [], generation: group.generation }
    }
  }
}
