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
  /** Cooperative: partitions this member revoked and still holds until its next poll. */
  releasing: TopicPartition[]
  generation: number
  lastSeen: number
  pending: PendingRebalance | null
}

interface Group {
  readonly id: string
  /** Cooperative only while every member asked for it (Kafka picks a protocol all members support). */
  readonly protocols: Map<string, 'eager' | 'cooperative'>
  generation: number
  readonly members: Map<string, TwinMember>
  readonly committed: Map<string, number>
}

/**
 * Consumer groups of the twin. Any join, leave or eviction (no poll within the session timeout,
 * checked lazily) starts a new generation. Eager protocol: it revokes every assignment and hands
 * the partitions out again, round robin over the members sorted by id. Cooperative protocol
 * (cooperative-sticky): members keep what they hold up to a balanced share; only partitions that
 * must move are revoked, and they are assigned to their new owner in a follow-up rebalance, once
 * the old owner released them (its next poll, or its departure).
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

  join(groupId: string, clientId: string, topics: readonly string[], listener: RebalanceListener, sessionTimeoutMs: number, protocol: 'eager' | 'cooperative' = 'eager'): TwinMember {
    const group = this.group(groupId)
    const member: TwinMember = { id: `${clientId}-${this.nextMember++}`, groupId, topics, listener, sessionTimeoutMs, assignment: [], releasing: [], generation: -1, lastSeen: this.now(), pending: null }
    group.members.set(member.id, member)
    group.protocols.set(member.id, protocol)
    this.rebalance(group)
    return member
  }

  leave(member: TwinMember): void {
    const group = this.groups.get(member.groupId)
    if (group === undefined || !group.members.delete(member.id)) return
    group.protocols.delete(member.id)
    this.rebalance(group)
  }

  /** Cooperative: the member let go of the partitions it revoked; their new owners get them now. */
  released(member: TwinMember): void {
    member.releasing = []
    const group = this.groups.get(member.groupId)
    if (group !== undefined && group.members.get(member.id) === member) this.rebalance(group)
  }

  cooperative(groupId: string): boolean {
    const group = this.groups.get(groupId)
    return group !== undefined && group.protocols.size > 0 && [...group.protocols.values()].every((p) => p === 'cooperative')
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
          group.protocols.delete(member.id)
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
    if (group === undefined) this.groups.set(id, (group = { id, protocols: new Map(), generation: 0, members: new Map(), committed: new Map() }))
    return group
  }

  private rebalance(group: Group): void {
    group.generation++
    const members = [...group.members.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    if (this.cooperative(group.id)) {
      this.rebalanceCooperative(group, members)
      return
    }
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

  /** Sticky targets; each member is told only what it must give up, and gets only partitions nobody holds. */
  private rebalanceCooperative(group: Group, members: TwinMember[]): void {
    const target = new Map<string, TopicPartition[]>(members.map((m) => [m.id, []]))
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort()
    const busy = new Set<string>()
    for (const m of members) for (const tp of m.releasing) busy.add(tpKey(tp.topic, tp.partition))
    for (const topic of topics) {
      const takers = members.filter((m) => m.topics.includes(topic))
      const n = this.partitionsOf(topic)
      const base = Math.floor(n / takers.length)
      let extras = n % takers.length
      const kept = new Set<number>()
      // Members holding the most keep their share first (sticky); a member keeps at most base (+1 while extras last).
      const byHeld = [...takers].sort((a, b) => this.held(b, topic).length - this.held(a, topic).length)
      for (const m of byHeld) {
        const mine = this.held(m, topic)
        const quota = base + (extras > 0 && mine.length > base ? 1 : 0)
        if (quota > base) extras--
        for (const p of mine.slice(0, quota)) {
          kept.add(p)
          target.get(m.id)?.push({ topic, partition: p })
        }
      }
      for (let p = 0; p < n; p++) {
        if (kept.has(p)) continue
        const count = (m: TwinMember): number => (target.get(m.id) ?? []).filter((tp) => tp.topic === topic).length
        const to = takers.reduce((best, m) => (count(m) < count(best) ? m : best))
        target.get(to.id)?.push({ topic, partition: p })
      }
    }
    const heldByOthers = (member: TwinMember, key: string): boolean =>
      busy.has(key) || members.some((o) => o !== member && o.assignment.some((tp) => tpKey(tp.topic, tp.partition) === key))
    for (const member of members) {
      const mine = target.get(member.id) ?? []
      const want = new Set(mine.map((tp) => tpKey(tp.topic, tp.partition)))
      const has = new Set(member.assignment.map((tp) => tpKey(tp.topic, tp.partition)))
      const revoke = member.assignment.filter((tp) => !want.has(tpKey(tp.topic, tp.partition)))
      const assign = mine.filter((tp) => !has.has(tpKey(tp.topic, tp.partition)) && !heldByOthers(member, tpKey(tp.topic, tp.partition)))
      member.pending = { revoke, assign, generation: group.generation }
    }
  }

  private held(member: TwinMember, topic: string): number[] {
    return member.assignment.filter((tp) => tp.topic === topic).map((tp) => tp.partition).sort((a, b) => a - b)
  }
}
