import { RaftNode, type Applied, type RaftCodec, type RaftEvent } from '../../cluster/raft/index.ts'
import { SimDisk } from '../SimDisk.ts'
import type { SimProcess } from '../SimProcess.ts'
import type { Simulation } from '../Simulation.ts'
import type { SimulatedNetwork } from '../SimulatedNetwork.ts'
import type { RaftClusterOptions } from './RaftTestCluster.ts'
import { RAFT_SYSTEM, RaftSimTransport, type MessageFilter, type NodeCounters } from './RaftSimTransport.ts'
import { SimRaftStorage } from './SimRaftStorage.ts'

/** One server of a RaftTestCluster: its disk outlives its incarnations (process, storage, RaftNode). */
export interface Member {
  readonly name: string
  readonly disk: SimDisk
  process: SimProcess | null
  storage: SimRaftStorage | null
  raft: RaftNode | null
  /** The state machine of the current incarnation: applied commands, in order. */
  applied: { index: number; command: string }[]
  readonly counters: NodeCounters
  bootstrap: boolean
  incarnation: number
}

/** What booting an incarnation needs from its cluster. */
export interface BootEnv {
  readonly sim: Simulation
  readonly network: SimulatedNetwork
  readonly codec: RaftCodec
  readonly filters: MessageFilter[]
  readonly options: RaftClusterOptions
  readonly initialVoters: string[]
  readonly fsyncMs: number
  readonly observer: (e: RaftEvent) => void
}

const dec = new TextDecoder()
const enc = new TextEncoder()

export function newMember(sim: Simulation, name: string, bootstrap: boolean, tornWrites: boolean): Member {
  return {
    name,
    disk: new SimDisk(sim, name, { tornWrites }),
    process: null,
    storage: null,
    raft: null,
    applied: [],
    counters: { sent: {}, received: {}, malformed: 0 },
    bootstrap,
    incarnation: 0,
  }
}

/**
 * Starts the member's next incarnation: a fresh process on its disk, attached to the network, and a
 * RaftNode whose state machine (`applied`) is rebuilt from its snapshot and log. Returns its storage.
 */
export async function bootMember(m: Member, env: BootEnv): Promise<SimRaftStorage> {
  m.incarnation++
  const process = env.sim.createProcess(`${m.name}#${m.incarnation}`)
  m.process = process
  m.disk.attach(process)
  const frames = env.network.attach({ system: RAFT_SYSTEM, node: m.name, shard: 0 }, process)
  const transport = new RaftSimTransport(env.sim, frames, env.codec, m.counters, env.filters)
  const storage = new SimRaftStorage(m.disk, process.clock, { fsyncMs: env.fsyncMs })
  m.storage = storage
  m.applied = []
  const o = env.options
  const raft = await RaftNode.start({
    id: m.name,
    storage,
    transport,
    clock: process.clock,
    random: process.random,
    heartbeatMs: o.heartbeatMs ?? 100,
    electionMs: o.electionMs ?? 300,
    tickMs: o.tickMs ?? 20,
    ...(o.preVote !== undefined ? { preVote: o.preVote } : {}),
    ...(o.checkQuorum !== undefined ? { checkQuorum: o.checkQuorum } : {}),
    ...(o.leaseReads !== undefined ? { leaseReads: o.leaseReads } : {}),
    ...(o.maxInflight !== undefined ? { maxInflight: o.maxInflight } : {}),
    ...(o.snapshotChunkBytes !== undefined ? { snapshotChunkBytes: o.snapshotChunkBytes } : {}),
    ...(m.bootstrap ? { initialConfig: { voters: env.initialVoters, learners: [] } } : {}),
    snapshotEvery: o.snapshotEvery ?? 0,
    snapshot: () => enc.encode(JSON.stringify(m.applied)),
    onApplied: (a: Applied) => {
      if (a.kind === 'snapshot') m.applied = a.data.length === 0 ? [] : (JSON.parse(dec.decode(a.data)) as { index: number; command: string }[])
      else m.applied.push({ index: a.index, command: dec.decode(a.command) })
    },
    observer: env.observer,
  })
  m.raft = raft
  return storage
}

/** The live (not paused) leaders of the highest term among `members` (one in a healthy cluster). */
export function liveLeaders(members: Iterable<Member>): string[] {
  let best = -1
  let out: string[] = []
  for (const m of members) {
    const s = m.raft?.state()
    if (s === undefined || m.process?.isPaused === true || s.role !== 'leader') continue
    if (s.term > best) {
      best = s.term
      out = [m.name]
    } else if (s.term === best) out.push(m.name)
  }
  return out
}

/** How many members' state machines hold `command` at `index`. */
export function countAppliedIn(members: Iterable<Member>, index: number, command: string): number {
  let n = 0
  for (const m of members) {
    // Applied commands are in index order: binary search (this runs after every simulation step).
    const a = m.applied
    let lo = 0
    let hi = a.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const at = (a[mid] as { index: number }).index
      if (at === index) {
        if ((a[mid] as { command: string }).command === command) n++
        break
      }
      if (at < index) lo = mid + 1
      else hi = mid - 1
    }
  }
  return n
}
