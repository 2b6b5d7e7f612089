import { ClusterMalformedCommandError } from '../membership/index.ts'
import { decodeCommand } from '../membership/ClusterCommandCodec.ts'
import { ClusterStateMachine } from '../membership/ClusterStateMachine.ts'
import { FileRaftStorage } from '../raft/FileRaftStorage.ts'

/** What a lone member carried over from its previous incarnation. */
export interface LoneRecovery {
  /** The last log entry (or snapshot) of the previous incarnation: the new server's log continues after it. */
  readonly index: number
  readonly term: number
  /** Members in the recovered state (the previous incarnation of this node among them, downed when this one joins). */
  readonly members: number
  readonly registryKeys: number
}

/**
 * A lone member (no seeds, no other live member known) restarting: each incarnation is a new Raft
 * server (`node#n`), so its log cannot simply be reopened — the configuration in it names the old
 * server as the only voter. Instead the previous incarnation's snapshot and log are replayed into
 * the state machine, and the new server's storage starts from that state as a snapshot at the old
 * last (index, term), with itself as the only voter. The next election then takes a later term, so
 * fencing tokens keep growing; joining as the new incarnation downs the old one (its registry
 * entries go, its singletons move to the new one).
 *
 * Every stored entry is replayed, committed or not: the old server was the only voter of the last
 * configuration it knew, so on a plain restart it would have committed its whole log too.
 * Returns null (nothing written) when the previous incarnation left no state.
 */
export async function recoverLoneState(previousDir: string, raftDir: string, id: string): Promise<LoneRecovery | null> {
  const old = new FileRaftStorage({ dir: previousDir })
  let durable
  try {
    durable = await old.load()
  } finally {
    await old.close()
  }
  const last = durable.entries.at(-1) ?? durable.snapshot
  if (last === null || last === undefined) return null
  const sm = durable.snapshot !== null ? ClusterStateMachine.restore(durable.snapshot.data) : new ClusterStateMachine()
  for (const e of durable.entries) {
    if (e.type !== 'command') continue
    try {
      sm.apply(decodeCommand(e.data), e.index, e.term)
    } catch (error) {
      // Refused alike on every member when it was live: nothing was applied then either.
      if (!(error instanceof ClusterMalformedCommandError)) throw error
    }
  }
  const fresh = new FileRaftStorage({ dir: raftDir })
  try {
    await fresh.load()
    await fresh.installSnapshot({ index: last.index, term: last.term, config: { voters: [id], learners: [] }, data: sm.snapshot() })
    await fresh.persist({ hardState: { term: last.term, votedFor: null } })
  } finally {
    await fresh.close()
  }
  return { index: last.index, term: last.term, members: sm.members().length, registryKeys: sm.keys().length }
}
