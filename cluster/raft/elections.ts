import { LeaderState } from './LeaderState.ts'
import type { VoteMessage, VoteResponseMessage } from './messages.ts'
import type { RaftCore } from './RaftCore.ts'

/*
 * Elections (Raft §5.2 with PreVote, thesis §9.6, and the leader lease of CheckQuorum): functions over a
 * RaftCore, kept apart so the core stays one screen of per-server rules.
 */

export function hup(core: RaftCore, transfer: boolean): void {
  if (core.role === 'leader' || !core.promotable()) return
  if (core.opts.preVote && !transfer) startCampaign(core, true, false)
  else startCampaign(core, false, transfer)
}

export function startCampaign(core: RaftCore, pre: boolean, transfer: boolean): void {
  if (pre) {
    core.role = 'preCandidate'
    core.leaderId = null
    core.votes.clear()
    core.electionElapsed = 0
    core.resetRandomizedTimeout()
  } else {
    core.becomeFollower(core.term + 1, null)
    core.role = 'candidate'
    core.votedFor = core.id
  }
  core.votes.set(core.id, true)
  if (tallyWon(core)) {
    if (pre) startCampaign(core, false, false)
    else becomeLeader(core)
    return
  }
  const term = pre ? core.term + 1 : core.term
  for (const v of core.config.voters) {
    if (v === core.id) continue
    core.send({ kind: 'vote', to: v, term, preVote: pre, transfer, lastIndex: core.log.lastIndex, lastTerm: core.log.lastTerm })
  }
}

export function tallyWon(core: RaftCore): boolean {
  let granted = 0
  for (const v of core.config.voters) if (core.votes.get(v) === true) granted++
  return granted > core.config.voters.length / 2
}

export function tallyLost(core: RaftCore): boolean {
  let rejected = 0
  for (const v of core.config.voters) if (core.votes.get(v) === false) rejected++
  return rejected > core.config.voters.length / 2 || (core.config.voters.length - rejected) <= core.config.voters.length / 2
}

export function handleVote(core: RaftCore, m: VoteMessage): void {
  // Raft Figure 2 RequestVote rule 2, with etcd's refinements: a pre-vote for a later term may be
  // granted whatever we voted for, and a server that knows a leader grants no real vote.
  const canVote = core.votedFor === m.from || (core.votedFor === null && core.leaderId === null) || (m.preVote && m.term > core.term)
  if (canVote && core.log.isUpToDate(m.lastIndex, m.lastTerm)) {
    core.send({ kind: 'voteResponse', to: m.from, term: m.term, preVote: m.preVote, granted: true })
    if (!m.preVote) {
      core.electionElapsed = 0
      core.votedFor = m.from
    }
  } else {
    core.send({ kind: 'voteResponse', to: m.from, preVote: m.preVote, granted: false })
  }
}

export function handleVoteResponse(core: RaftCore, m: VoteResponseMessage): void {
  const expected = m.preVote ? 'preCandidate' : 'candidate'
  if (core.role !== expected || !core.config.voters.includes(m.from)) return
  if (core.votes.has(m.from)) return
  core.votes.set(m.from, m.granted)
  if (tallyWon(core)) {
    if (m.preVote) startCampaign(core, false, false)
    else becomeLeader(core)
  } else if (tallyLost(core)) {
    core.becomeFollower(core.term, null)
  }
}

export function becomeLeader(core: RaftCore): void {
  core.role = 'leader'
  core.leaderId = core.id
  core.votes.clear()
  core.electionElapsed = 0
  core.leader = new LeaderState(core)
  // A no-op of the new term: committing it commits everything before it (Figure 8), and lets reads and config changes start.
  core.leader.propose('noop', new Uint8Array(0))
}

/** The voter a leader would hand over to (the most caught-up other voter), or null. */
export function transferCandidate(core: RaftCore): string | null {
  const leader = core.leader
  if (leader === null) return null
  let best: string | null = null
  let bestMatch = -1
  for (const v of core.config.voters) {
    const pr = leader.progress.get(v)
    if (pr !== undefined && pr.match > bestMatch) {
      best = v
      bestMatch = pr.match
    }
  }
  return best
}
