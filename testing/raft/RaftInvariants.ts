import type { HardState, LogEntry, RaftDurableState, RaftEvent } from '../../cluster/raft/index.ts'
import type { DurableView } from './SimRaftStorage.ts'

/** What the checker may look at besides events: read-only views of each node. */
export interface InvariantWorld {
  /** The node's in-memory log now (null when it is down). */
  log(node: string): { snapshotIndex: number; snapshotTerm: number; entries: readonly LogEntry[] } | null
  /** What the node's storage has fsynced. */
  durable(node: string): DurableView
  /** Voters in the node's current configuration. */
  voters(node: string): readonly string[]
  nodes(): readonly string[]
  /** The node's commit index now (null when it is down). */
  commitIndex(node: string): number | null
}

function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193)
  return h >>> 0
}

function termAt(log: { snapshotIndex: number; snapshotTerm: number; entries: readonly LogEntry[] }, index: number): number | undefined {
  if (index === log.snapshotIndex) return log.snapshotTerm
  return log.entries[index - log.snapshotIndex - 1]?.term
}

function durableHas(d: DurableView, index: number, term: number): boolean {
  if (d.snapshot !== null && d.snapshot.index >= index) return true
  const first = d.entries[0]
  if (first === undefined) return false
  return d.entries[index - first.index]?.term === term
}

/**
 * Raft's safety properties, checked from the outside on the event stream (and read-only views of
 * logs and fsynced state), independently of the implementation: election safety, leader
 * append-only, log matching, leader completeness, state machine safety, in-order apply without
 * gaps or repeats (per incarnation, across restarts), term monotonic and one vote per term across
 * restarts, acknowledged ⇒ durable, apply only after a majority stored the entry. The first
 * violation is kept; the simulation's invariant hook fails the run on it.
 */
export class RaftInvariants {
  violation: string | null = null
  private readonly world: InvariantWorld
  private readonly leaders = new Map<number, string>()
  private readonly votes = new Map<string, Map<number, string>>()
  private readonly terms = new Map<string, number>()
  private readonly identity = new Map<string, { hash: number; prevTerm: number }>()
  private readonly committed = new Map<number, { term: number; hash: number }>()
  private readonly lastApplied = new Map<string, number>()
  private readonly leading = new Map<string, { term: number; last: number }>()
  private readonly persistedLast = new Map<string, number>()
  private readonly commitChecked = new Map<string, number>()
  /** Counters of what was checked (a test can assert the checker did work). */
  readonly checked = { elections: 0, applies: 0, appends: 0, restarts: 0 }

  constructor(world: InvariantWorld) {
    this.world = world
  }

  private fail(message: string): void {
    if (this.violation === null) this.violation = message
  }

  /** A node (re)started with `loaded` from its storage; `before` is what it had fsynced before the crash. */
  restarted(node: string, loaded: RaftDurableState, before: DurableView | null): void {
    this.checked.restarts++
    this.leading.delete(node)
    this.persistedLast.set(node, loaded.entries[loaded.entries.length - 1]?.index ?? loaded.snapshot?.index ?? 0)
    this.lastApplied.set(node, loaded.snapshot?.index ?? 0)
    const maxTerm = this.terms.get(node) ?? 0
    if (loaded.hardState.term < maxTerm) this.fail(`${node} restarted with term ${loaded.hardState.term} after having fsynced term ${maxTerm}`)
    this.noteHard(node, loaded.hardState)
    if (before === null) return
    // Acknowledged ⇒ durable: everything a resolved persist covered is still there.
    for (const e of before.entries) {
      if (!durableHas({ hardState: loaded.hardState, snapshot: loaded.snapshot, entries: loaded.entries }, e.index, e.term)) {
        // A later leader may legitimately have overwritten it (then a later fsynced write replaced it);
        // only an entry that some node applied must survive.
        const c = this.committed.get(e.index)
        if (c !== undefined && c.term === e.term) this.fail(`${node} lost committed entry ${e.index} (term ${e.term}) that it had fsynced`)
      }
    }
  }

  /**
   * Commit ⇒ a majority fsynced it: checked on every live node's commit index after every step, so a
   * leader that counted its own unfsynced write toward the quorum is caught even before it applies.
   */
  checkCommits(): void {
    for (const node of this.world.nodes()) {
      const index = this.world.commitIndex(node)
      const log = this.world.log(node)
      if (index === null || log === null || index <= log.snapshotIndex || index === this.commitChecked.get(node)) continue
      this.commitChecked.set(node, index)
      const term = termAt(log, index)
      if (term === undefined) continue
      const voters = this.world.voters(node)
      let stored = 0
      for (const v of this.world.nodes()) if (durableHas(this.world.durable(v), index, term)) stored++
      if (voters.length > 0 && stored <= voters.length / 2) this.fail(`${node} holds commit index ${index} (term ${term}) stored on only ${stored} of ${voters.length} voters`)
    }
  }

  crashed(node: string): void {
    this.leading.delete(node)
  }

  on(event: RaftEvent): void {
    switch (event.type) {
      case 'persist':
        this.onPersist(event.node, event.hardState, event.entries)
        return
      case 'role':
        if (event.role === 'leader') this.onLeader(event.node, event.term)
        else this.leading.delete(event.node)
        return
      case 'apply':
        this.onApply(event.node, event.entry)
        return
      case 'applySnapshot': {
        const last = this.lastApplied.get(event.node) ?? 0
        if (event.index <= last) this.fail(`${event.node} applied a snapshot at ${event.index} after having applied ${last}`)
        this.lastApplied.set(event.node, event.index)
        return
      }
      case 'send':
        this.onSend(event)
        return
      case 'failed':
        this.fail(`${event.node} failed: ${event.error.message}`)
        return
      default:
        return
    }
  }

  private noteHard(node: string, hs: HardState): void {
    const prev = this.terms.get(node) ?? 0
    if (hs.term < prev) this.fail(`${node} persisted term ${hs.term} after term ${prev}`)
    this.terms.set(node, Math.max(prev, hs.term))
    if (hs.votedFor === null) return
    let byTerm = this.votes.get(node)
    if (byTerm === undefined) this.votes.set(node, (byTerm = new Map()))
    const had = byTerm.get(hs.term)
    if (had !== undefined && had !== hs.votedFor) this.fail(`${node} voted for ${had} and then ${hs.votedFor} in term ${hs.term}`)
    byTerm.set(hs.term, hs.votedFor)
  }

  private onPersist(node: string, hs: HardState | null, entries: readonly LogEntry[]): void {
    if (hs !== null) this.noteHard(node, hs)
    if (entries.length === 0) return
    const lead = this.leading.get(node)
    const first = entries[0] as LogEntry
    if (lead !== undefined && first.index <= lead.last) this.fail(`leader ${node} (term ${lead.term}) rewrote its log from index ${first.index} (had ${lead.last})`)
    if (lead !== undefined) lead.last = (entries[entries.length - 1] as LogEntry).index
    this.persistedLast.set(node, (entries[entries.length - 1] as LogEntry).index)
    const log = this.world.log(node)
    let prevTerm = log === null ? undefined : termAt(log, first.index - 1)
    for (const e of entries) {
      this.checked.appends++
      const key = `${e.index}:${e.term}`
      const hash = hashBytes(e.data) ^ (e.type === 'command' ? 0 : e.type === 'noop' ? 0x5a5a : 0xa5a5)
      const seen = this.identity.get(key)
      if (seen === undefined) {
        if (prevTerm !== undefined) this.identity.set(key, { hash, prevTerm })
      } else if (seen.hash !== hash || (prevTerm !== undefined && seen.prevTerm !== prevTerm)) {
        this.fail(`log matching: entry (${e.index}, term ${e.term}) on ${node} differs from another copy (or follows a different term)`)
      }
      if (prevTerm !== undefined && e.term < prevTerm) this.fail(`${node} has entry ${e.index} of term ${e.term} after one of term ${prevTerm}`)
      prevTerm = e.term
    }
  }

  private onLeader(node: string, term: number): void {
    this.checked.elections++
    const other = this.leaders.get(term)
    if (other !== undefined && other !== node) this.fail(`election safety: ${other} and ${node} both lead term ${term}`)
    this.leaders.set(term, node)
    const log = this.world.log(node)
    if (log === null) return
    this.leading.set(node, { term, last: this.persistedLast.get(node) ?? log.snapshotIndex })
    // Leader completeness: every committed entry is in the new leader's log.
    for (const [index, c] of this.committed) {
      if (index <= log.snapshotIndex) continue
      const t = termAt(log, index)
      if (t !== c.term) this.fail(`leader completeness: ${node} leads term ${term} without committed entry ${index} (term ${c.term}); it has ${t ?? 'nothing'}`)
    }
  }

  private onApply(node: string, e: LogEntry): void {
    this.checked.applies++
    const last = this.lastApplied.get(node) ?? 0
    if (e.index !== last + 1) this.fail(`${node} applied ${e.index} after ${last} (gap or repeat)`)
    this.lastApplied.set(node, e.index)
    const hash = hashBytes(e.data) ^ (e.type === 'command' ? 0 : e.type === 'noop' ? 0x5a5a : 0xa5a5)
    const c = this.committed.get(e.index)
    if (c === undefined) {
      this.committed.set(e.index, { term: e.term, hash })
      // Apply only after a majority stored it (fsynced), counted on the applying node's voters.
      const voters = this.world.voters(node)
      let stored = 0
      for (const v of this.world.nodes()) if (durableHas(this.world.durable(v), e.index, e.term)) stored++
      if (voters.length > 0 && stored <= voters.length / 2) this.fail(`${node} applied ${e.index} (term ${e.term}) stored on only ${stored} of ${voters.length} voters`)
    } else if (c.term !== e.term || c.hash !== hash) {
      this.fail(`state machine safety: ${node} applied a different entry at ${e.index} (term ${e.term} vs ${c.term})`)
    }
  }

  private onSend(event: Extract<RaftEvent, { type: 'send' }>): void {
    const m = event.message
    // No message runs ahead of the sender's fsynced term (a pre-vote asks about a term it only proposes).
    const preVote = (m.kind === 'vote' || m.kind === 'voteResponse') && m.preVote
    if (!preVote && m.term > this.world.durable(event.node).hardState.term) this.fail(`${event.node} sent ${m.kind} at term ${m.term} before fsyncing that term`)
    // Persist before send: a granted vote and a successful append are backed by fsynced state.
    if (m.kind === 'voteResponse' && m.granted && !m.preVote) {
      const d = this.world.durable(event.node)
      if (d.hardState.term !== m.term || d.hardState.votedFor !== m.to) this.fail(`${event.node} granted its vote in term ${m.term} to ${m.to} before fsyncing it`)
    } else if (m.kind === 'appendResponse' && !m.reject && m.index > 0) {
      const d = this.world.durable(event.node)
      const last = Math.max(d.snapshot?.index ?? 0, d.entries[d.entries.length - 1]?.index ?? 0)
      if (last < m.index) this.fail(`${event.node} acknowledged index ${m.index} before fsyncing it (fsynced through ${last})`)
    }
  }
}
