import type { Member, MemberStatus } from './types.ts'

/** Statuses whose failure detectors count as observers in the downing vote. */
const OBSERVING: ReadonlySet<MemberStatus> = new Set(['up', 'leaving', 'exiting'])

export interface DowningVerdict {
  readonly down: boolean
  readonly suspecting: number
  readonly observers: number
}

/**
 * The downing rule (keep-majority, after Akka's split-brain resolver, applied per member): `target`
 * is downed when strictly more than half of the observers — the members other than the target whose
 * status is up, leaving or exiting — report it suspected. The verdict is computed inside the
 * replicated state machine, so it only takes effect through a Raft commit, which needs a quorum of
 * voters: the minority side of a partition can never down anyone, the majority side downs the
 * minority once a majority of observers (all on its side) agree. With no observers (a single
 * member) nobody is downed by suspicion.
 */
export function downingVerdict(members: readonly Member[], target: string, suspectedBy: ReadonlySet<string>): DowningVerdict {
  let observers = 0
  let suspecting = 0
  for (const m of members) {
    if (m.node === target || !OBSERVING.has(m.status)) continue
    observers++
    if (suspectedBy.has(m.node)) suspecting++
  }
  return { down: observers > 0 && suspecting * 2 > observers, suspecting, observers }
}

/** The oldest up member (lowest up number) carrying `role` (any member when null); ties cannot happen. */
export function electSingletonHost(members: readonly Member[], role: string | null): Member | undefined {
  let best: Member | undefined
  for (const m of members) {
    if (m.status !== 'up' || (role !== null && !m.roles.includes(role))) continue
    if (best === undefined || m.upNumber < best.upNumber) best = m
  }
  return best
}

/** One step towards the desired Raft configuration (one server at a time, as Raft requires). */
export type VoterStep =
  | { readonly type: 'addLearner'; readonly id: string }
  | { readonly type: 'promote'; readonly id: string }
  | { readonly type: 'remove'; readonly id: string }
  | { readonly type: 'demote'; readonly id: string }

/** The Raft server id of a member incarnation: a restarted node is a fresh server with an empty log. */
export function raftId(node: string, incarnation: number): string {
  return `${node}#${incarnation}`
}

/**
 * Which servers should vote: the `voterCount` (3 or 5; odd) oldest up members; every other live
 * member is a learner (it replicates and serves cached reads but does not vote). A removed voter is
 * replaced by the next oldest up member. Returns the next single change to make, or null when the
 * Raft configuration matches. Order matters for safety and availability: first drop servers of
 * members that are down or gone (they can never answer again), then add learners, then promote
 * replacements, and only then demote surplus voters — never shrinking the voter set below what the
 * policy wants while a replacement is available. A leader never removes itself here; a leaving
 * leader transfers leadership first.
 */
export function nextVoterStep(members: readonly Member[], config: { readonly voters: readonly string[]; readonly learners: readonly string[] }, voterCount: number, self: string): VoterStep | null {
  // Exiting members are on their way out: their servers go (the leader hands over first when it is one).
  const live = members.filter((m) => m.status === 'joining' || m.status === 'up' || m.status === 'leaving')
  const liveIds = new Set(live.map((m) => raftId(m.node, m.incarnation)))
  const wanted = members
    .filter((m) => m.status === 'up')
    .sort((a, b) => a.upNumber - b.upNumber)
    .slice(0, voterCount)
    .map((m) => raftId(m.node, m.incarnation))
  const wantedSet = new Set(wanted)
  const servers = [...config.voters, ...config.learners]
  for (const id of [...servers].sort()) if (!liveIds.has(id) && id !== self) return { type: 'remove', id }
  for (const m of live) {
    const id = raftId(m.node, m.incarnation)
    if (!servers.includes(id)) return { type: 'addLearner', id }
  }
  for (const id of wanted) if (config.learners.includes(id)) return { type: 'promote', id }
  // Only shrink once every wanted voter votes, and never below the wanted count.
  if (wanted.every((id) => config.voters.includes(id))) {
    for (const id of [...config.voters].sort()) if (!wantedSet.has(id) && id !== self && config.voters.length > wanted.length) return { type: 'demote', id }
  }
  return null
}

/** `node#incarnation` → [node, incarnation]; [null, 0] when the id is not of that form. */
export function splitRaftId(id: string): [string | null, number] {
  const at = id.lastIndexOf('#')
  const inc = Number(id.slice(at + 1))
  return at > 0 && Number.isSafeInteger(inc) && inc > 0 ? [id.slice(0, at), inc] : [null, 0]
}
