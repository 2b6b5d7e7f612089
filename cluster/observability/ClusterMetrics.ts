import { Gauge, type Registry } from 'prom-client'
import type { ClusterState, MemberStatus } from '../membership/index.ts'
import type { RaftNodeState } from '../raft/index.ts'

/** Every member status, so each is exported (0 included): a query for `status="down"` never finds nothing. */
export const MEMBER_STATUSES: readonly MemberStatus[] = ['joining', 'up', 'leaving', 'exiting', 'down', 'removed']
/** Raft roles exported by `troupe_cluster_raft_role` (one is 1, the others 0). */
const RAFT_ROLES = ['follower', 'preCandidate', 'candidate', 'leader'] as const

/** What the cluster metrics read at scrape time: the node's cluster state and, on the Raft backend, its Raft server. */
export interface ClusterMetricsSource {
  /** `raft` or `jetstream`: the `backend` label of the position gauges. */
  readonly backend: string
  /** The cluster state once started, else null (nothing is exported for it yet). */
  state(): ClusterState | null
  /** The Raft server's state (the `meta` group), or null on the JetStream backend. */
  raft(): RaftNodeState | null
}

/**
 * The cluster as this node sees it, on the node's registry: members by status, the replicated
 * state's position (Raft term, commit and applied index; the JetStream stream sequence), whether
 * this node leads, and how many members this node's failure detector suspects right now. Gauges,
 * all read at scrape time from the cluster state: nothing runs between scrapes.
 */
export class ClusterMetrics {
  private source: ClusterMetricsSource | null = null
  /** Member runs (`node#incarnation`) this node's failure detector currently reports unreachable. */
  private readonly suspected = new Set<string>()

  constructor(registry: Registry) {
    const registers = [registry]
    const members: Gauge<'status'> = new Gauge({
      name: 'troupe_cluster_members',
      help: 'Members of the cluster by status (joining, up, leaving, exiting, down, removed), in this node’s replica of the cluster state.',
      labelNames: ['status'],
      registers,
      collect: () => {
        const state = this.state()
        if (state === null) return members.reset()
        const counts = new Map<string, number>(MEMBER_STATUSES.map((s) => [s, 0]))
        for (const m of state.members()) counts.set(m.status, (counts.get(m.status) ?? 0) + 1)
        for (const [status, count] of counts) members.set({ status }, count)
      },
    })
    const unreachable: Gauge = new Gauge({
      name: 'troupe_cluster_unreachable_members',
      help: 'Live members (a current incarnation, not down or removed) that this node’s failure detector suspects now: reported to the cluster, which downs a member once a majority of observers does.',
      registers,
      collect: () => {
        const state = this.state()
        if (state === null) return unreachable.set(0)
        const live = new Set(state.members().filter((m) => m.status !== 'down' && m.status !== 'removed').map((m) => `${m.node}#${m.incarnation}`))
        // A run the cluster downed or removed is no longer a suspect of this node's: forget it.
        for (const run of this.suspected) if (!live.has(run)) this.suspected.delete(run)
        unreachable.set(this.suspected.size)
      },
    })
    const leader: Gauge = new Gauge({
      name: 'troupe_cluster_leader',
      help: 'Whether this node leads the cluster state (1) or not (0): the Raft leader, or the JetStream backend’s lease holder.',
      registers,
      collect: () => {
        const state = this.state()
        const lead = state?.leader() ?? null
        leader.set(state !== null && lead !== null && lead.node === state.self.node && lead.incarnation === state.self.incarnation ? 1 : 0)
      },
    })
    const epoch: Gauge<'backend'> = new Gauge({
      name: 'troupe_cluster_state_epoch',
      help: 'Epoch of this node’s replica of the cluster state (bumped on every member status change).',
      labelNames: ['backend'],
      registers,
      collect: () => this.position(epoch, (p) => p.epoch),
    })
    const applied: Gauge<'backend'> = new Gauge({
      name: 'troupe_cluster_state_applied_position',
      help: 'Last position of the cluster state’s log applied here: the Raft log index, or the JetStream stream sequence. Behind the others’ when this replica lags.',
      labelNames: ['backend'],
      registers,
      collect: () => this.position(applied, (p) => p.appliedIndex),
    })
    const term: Gauge<'group'> = new Gauge({
      name: 'troupe_cluster_raft_term',
      help: 'Current Raft term of this node’s cluster-state server (Raft backend only).',
      labelNames: ['group'],
      registers,
      collect: () => this.raftGauge(term, (r) => r.term),
    })
    const commit: Gauge<'group'> = new Gauge({
      name: 'troupe_cluster_raft_commit_index',
      help: 'Highest Raft log index this node knows committed (Raft backend only).',
      labelNames: ['group'],
      registers,
      collect: () => this.raftGauge(commit, (r) => r.commitIndex),
    })
    const role: Gauge<'group' | 'role'> = new Gauge({
      name: 'troupe_cluster_raft_role',
      help: 'This node’s Raft role: 1 for the current one (follower, preCandidate, candidate, leader), 0 for the others (Raft backend only).',
      labelNames: ['group', 'role'],
      registers,
      collect: () => {
        role.reset()
        const raft = this.source?.raft() ?? null
        if (raft !== null) for (const r of RAFT_ROLES) role.set({ group: 'meta', role: r }, raft.role === r ? 1 : 0)
      },
    })
  }

  /** Starts reading `source` (the node calls this once its cluster state is prepared). */
  observe(source: ClusterMetricsSource): void {
    this.source = source
  }

  /**
   * Wraps the failure detector's verdict hook: each verdict (suspected, or reachable again) is also
   * counted here before it goes on to the cluster state.
   */
  tapVerdicts<F extends (node: string, incarnation: string, suspected: boolean) => void>(onVerdict: F): F {
    return ((node: string, incarnation: string, suspected: boolean) => {
      if (suspected) this.suspected.add(`${node}#${incarnation}`)
      else this.suspected.delete(`${node}#${incarnation}`)
      onVerdict(node, incarnation, suspected)
    }) as F
  }

  /** Member runs (`node#incarnation`) this node's failure detector reports unreachable now (the dashboard marks them). */
  suspects(): ReadonlySet<string> {
    return this.suspected
  }

  /** Heartbeat options with their verdict hook tapped (see tapVerdicts). */
  tapHeartbeat<O extends { readonly onVerdict?: (node: string, incarnation: string, suspected: boolean) => void }>(options: O): O {
    return options.onVerdict === undefined ? options : { ...options, onVerdict: this.tapVerdicts(options.onVerdict) }
  }

  private state(): ClusterState | null {
    return this.source?.state() ?? null
  }

  private position(gauge: Gauge<'backend'>, read: (p: ReturnType<ClusterState['position']>) => number): void {
    gauge.reset()
    const state = this.state()
    if (state !== null && this.source !== null) gauge.set({ backend: this.source.backend }, read(state.position()))
  }

  private raftGauge(gauge: Gauge<'group'>, read: (r: RaftNodeState) => number): void {
    gauge.reset()
    const raft = this.source?.raft() ?? null
    if (raft !== null) gauge.set({ group: 'meta' }, read(raft))
  }
}
