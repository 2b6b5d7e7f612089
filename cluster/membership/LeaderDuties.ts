import type { Clock, TimerHandle } from '../../runtime/index.ts'
import type { RaftNode } from '../raft/index.ts'
import type { ClusterStateMachine } from './ClusterStateMachine.ts'
import { nextVoterStep, raftId } from './policies.ts'
import type { ClusterCommand } from './types.ts'

export interface LeaderDutiesOptions {
  readonly raft: RaftNode
  readonly clock: Clock
  readonly state: () => ClusterStateMachine
  readonly propose: (command: ClusterCommand) => Promise<unknown>
  /** How many members vote (3 or 5). */
  readonly voterCount: number
  readonly intervalMs: number
}

/**
 * What only the leader does, one step at a time on a timer (Akka's leader actions): move joining
 * members that Raft replicates to up, drive leaving → exiting, reconcile Raft's voters with the voter
 * policy (remove dead servers, add learners, promote replacements, demote surplus), mark down or
 * exiting members removed once Raft no longer holds their server, and hand leadership over when the
 * leader's own member is leaving. Every decision comes from the replicated state, so a new leader
 * picks up where the old one stopped.
 */
export class LeaderDuties {
  private readonly o: LeaderDutiesOptions
  private timer: TimerHandle | null = null
  private busy = false
  private stopped = false

  constructor(options: LeaderDutiesOptions) {
    this.o = options
    this.arm()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) this.o.clock.clearTimer(this.timer)
    this.timer = null
  }

  private arm(): void {
    this.timer = this.o.clock.setTimer(this.o.intervalMs, () => {
      if (this.stopped) return
      this.arm()
      if (this.busy) return
      const step = this.nextStep()
      if (step === null) return
      this.busy = true
      // Failures (lost leadership, a pending config change) are retried on a later tick.
      step()
        .catch(() => {})
        .finally(() => {
          this.busy = false
        })
    })
  }

  /** The single next action, or null. Exposed for tests through behaviour only. */
  private nextStep(): (() => Promise<unknown>) | null {
    const raft = this.o.raft
    const rs = raft.state()
    if (rs.role !== 'leader') return null
    const sm = this.o.state()
    const members = sm.members()
    const servers = new Set([...rs.config.voters, ...rs.config.learners])
    const self = members.find((m) => raftId(m.node, m.incarnation) === raft.id)
    // The leader's own member is going away: hand over first (a removed leader would leave the cluster headless for an election timeout).
    if (self !== undefined && (self.status === 'leaving' || self.status === 'exiting' || self.status === 'down')) {
      const to = rs.config.voters.find((v) => v !== raft.id)
      if (to !== undefined) return () => raft.transferLeadership(to)
    }
    for (const m of members) {
      const id = raftId(m.node, m.incarnation)
      if (m.status === 'joining' && servers.has(id)) return () => this.o.propose({ type: 'up', node: m.node, incarnation: m.incarnation })
      if (m.status === 'leaving') return () => this.o.propose({ type: 'exit', node: m.node, incarnation: m.incarnation })
      if ((m.status === 'exiting' || m.status === 'down') && !servers.has(id)) return () => this.o.propose({ type: 'remove', node: m.node, incarnation: m.incarnation })
    }
    const step = nextVoterStep(members, rs.config, this.o.voterCount, raft.id)
    if (step === null) return null
    switch (step.type) {
      case 'addLearner':
        return () => raft.addLearner(step.id)
      case 'promote':
        return () => raft.promote(step.id)
      case 'remove':
      case 'demote':
        // Demotion is removal; the next round adds the server back as a learner.
        return () => raft.removeServer(step.id)
    }
  }
}
