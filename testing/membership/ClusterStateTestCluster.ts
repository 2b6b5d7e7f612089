import { ClusterNoQuorumError, ClusterStateNode, raftId, type ClusterPeerLink } from '../../cluster/membership/index.ts'
import { RaftCodec, RaftNode } from '../../cluster/raft/index.ts'
import { InvalidArgumentError } from '../../runtime/index.ts'
import type { FrameTransport } from '../../transport/index.ts'
import { NetworkProfiles, type NetworkProfileName } from '../NetworkProfiles.ts'
import { SimDisk } from '../SimDisk.ts'
import type { SimProcess } from '../SimProcess.ts'
import type { Simulation } from '../Simulation.ts'
import { SimulatedNetwork } from '../SimulatedNetwork.ts'
import { RaftSimTransport } from '../raft/RaftSimTransport.ts'
import { SimRaftStorage } from '../raft/SimRaftStorage.ts'

export interface ClusterStateTestOptions {
  /** Founding members (bootstrap Raft voters). Default n1, n2, n3. */
  readonly founders?: readonly string[]
  /** Voters wanted by the policy. Default 3. */
  readonly voterCount?: number
  readonly profile?: NetworkProfileName
  /** The modelled failure detector: heartbeat period and the silence after which a peer is suspected. Defaults 100 ms and 1000 ms. */
  readonly heartbeatMs?: number
  readonly suspectAfterMs?: number
  /** Called when a member's detector first suspects a peer (benchmarks: detection time next to downing time). */
  readonly onSuspect?: (observer: string, target: string, at: number) => void
}

interface SimMember {
  readonly name: string
  readonly incarnation: number
  readonly id: string
  readonly process: SimProcess
  readonly raft: RaftNode
  readonly cs: ClusterStateNode
  /** Observer state of the failure detector: last time each peer (raft id) was heard, and what was last reported. */
  readonly heard: Map<string, number>
  readonly reported: Map<string, boolean>
  readonly inFlight: Set<string>
}

const PEER_SYSTEM = 'cstate'

/** The simulated wire between cluster state nodes (shard 1 of each member's address; Raft uses shard 0). */
class SimPeerLink implements ClusterPeerLink {
  private readonly frames: FrameTransport
  constructor(frames: FrameTransport) {
    this.frames = frames
  }
  send(to: string, frame: Uint8Array): void {
    try {
      this.frames.send({ system: PEER_SYSTEM, node: to, shard: 1 }, frame)
    } catch {
      // A closed or full endpoint: the forward times out like a lost frame.
    }
  }
  onFrame(handler: (frame: Uint8Array) => void): void {
    this.frames.onFrame((f) => handler(f))
  }
}

/**
 * Cluster state nodes (Raft + the cluster state machine + leader duties + forwarding) in the
 * deterministic simulator. Each member incarnation is a fresh Raft server `name#incarnation` on its
 * own disk; a modelled heartbeat failure detector on every member (as testing/FailureDetector: a
 * peer is heard when its process runs, is not paused and the link is not cut) reports suspicions
 * through the member's ClusterStateNode, i.e. to the leader.
 */
export class ClusterStateTestCluster {
  readonly sim: Simulation
  readonly network: SimulatedNetwork
  readonly codec = new RaftCodec()
  private readonly options: ClusterStateTestOptions
  private readonly founders: readonly string[]
  private readonly current = new Map<string, SimMember>()
  private readonly all: SimMember[] = []

  private constructor(sim: Simulation, options: ClusterStateTestOptions) {
    this.sim = sim
    this.options = options
    this.founders = options.founders ?? ['n1', 'n2', 'n3']
    this.network = new SimulatedNetwork(sim, { failureDetector: false, ...NetworkProfiles[options.profile ?? 'reliable'] })
    this.detectorTick()
  }

  static async create(sim: Simulation, options: ClusterStateTestOptions = {}): Promise<ClusterStateTestCluster> {
    const c = new ClusterStateTestCluster(sim, options)
    for (const f of c.founders) await c.start(f)
    return c
  }

  /** Boots `name` as a new incarnation (1 for a founder's first boot) and has it join through the founders. */
  async start(name: string): Promise<void> {
    const prev = this.current.get(name)
    if (prev !== undefined && !prev.process.isCrashed) throw new InvalidArgumentError(`${name} runs; crash it first`)
    const incarnation = (prev?.incarnation ?? 0) + 1
    const id = raftId(name, incarnation)
    const process = this.sim.createProcess(id)
    const disk = new SimDisk(this.sim, id, { tornWrites: true })
    disk.attach(process)
    const transport = new RaftSimTransport(this.sim, this.network.attach({ system: 'raft', node: id, shard: 0 }, process), this.codec, { sent: {}, received: {}, malformed: 0 }, [])
    const peers = new SimPeerLink(this.network.attach({ system: PEER_SYSTEM, node: id, shard: 1 }, process))
    const founder = incarnation === 1 && this.founders.includes(name)
    let cs: ClusterStateNode | null = null
    const raft = await RaftNode.start({
      id,
      storage: new SimRaftStorage(disk, process.clock, { fsyncMs: 1 }),
      transport,
      clock: process.clock,
      random: process.random,
      heartbeatMs: 100,
      electionMs: 300,
      tickMs: 20,
      ...(founder ? { initialConfig: { voters: this.founders.map((f) => raftId(f, 1)), learners: [] } } : {}),
    })
    cs = new ClusterStateNode({ raft, clock: process.clock, self: { node: name, incarnation }, peers, seeds: this.seeds(name), voterCount: this.options.voterCount ?? 3, writeTimeoutMs: 1500 })
    const m: SimMember = { name, incarnation, id, process, raft, cs, heard: new Map(), reported: new Map(), inFlight: new Set() }
    this.current.set(name, m)
    this.all.push(m)
    this.joinLoop(m)
  }

  private seeds(self: string): string[] {
    const out: string[] = []
    for (const m of this.current.values()) if (m.name !== self && !m.process.isCrashed) out.push(m.id)
    for (const f of this.founders) if (f !== self && !this.current.has(f)) out.push(raftId(f, 1))
    return out
  }

  /** Retries the member's join until it is applied (or the incarnation is quarantined). */
  private joinLoop(m: SimMember): void {
    if (m.process.isCrashed || m.cs.quarantined || m.cs.state.member(m.name)?.incarnation === m.incarnation) return
    m.cs.join({ roles: [], shards: 1, httpAddress: `http://${m.name}`, appVersion: '1' }).then(
      () => {},
      () => m.process.clock.setTimer(200, () => this.joinLoop(m)),
    )
  }

  // ------------------------------------------------------------------ views

  get names(): string[] {
    return [...this.current.keys()]
  }
  node(name: string): ClusterStateNode {
    return this.member(name).cs
  }
  id(name: string): string {
    return this.member(name).id
  }
  incarnation(name: string): number {
    return this.member(name).incarnation
  }
  /** Every incarnation ever started (crashed ones included), for invariants. */
  members(): readonly { readonly name: string; readonly incarnation: number; readonly cs: ClusterStateNode; readonly process: SimProcess; readonly raft: RaftNode }[] {
    return this.all
  }
  /** The member whose live process leads the highest term, or null. */
  leader(): string | null {
    let best: SimMember | null = null
    for (const m of this.current.values()) {
      if (!m.process.isRunning) continue
      const s = m.raft.state()
      if (s.role === 'leader' && (best === null || s.term > best.raft.state().term)) best = m
    }
    return best?.name ?? null
  }
  isRunning(name: string): boolean {
    return this.member(name).process.isRunning
  }

  // ------------------------------------------------------------------ faults

  /** Cuts the network between groups of member names (every incarnation of each). */
  partition(...groups: (readonly string[])[]): void {
    this.network.partition(...groups.map((g) => this.all.filter((m) => g.includes(m.name)).map((m) => m.id)))
  }
  heal(): void {
    this.network.heal()
  }
  pause(name: string): void {
    this.member(name).process.pause()
  }
  resume(name: string): void {
    this.member(name).process.resume()
  }
  crash(name: string): void {
    const m = this.member(name)
    m.cs.stop()
    m.raft.halt()
    m.process.crash()
  }

  advance(ms: number): Promise<void> {
    return this.sim.advance(ms)
  }
  runUntil(predicate: () => boolean, maxVirtualMs = 10_000): Promise<void> {
    return this.sim.runUntil(predicate, maxVirtualMs)
  }

  private member(name: string): SimMember {
    const m = this.current.get(name)
    if (m === undefined) throw new InvalidArgumentError(`no member ${name}`)
    return m
  }

  // ------------------------------------------------------------------ the modelled failure detector

  private detectorTick(): void {
    const hb = this.options.heartbeatMs ?? 100
    const after = this.options.suspectAfterMs ?? 1000
    this.sim.after(hb, () => {
      const now = this.sim.now
      for (const o of this.current.values()) {
        if (!o.process.isRunning || o.cs.quarantined) continue
        for (const t of o.cs.state.members()) {
          if (t.node === o.name || !(t.status === 'joining' || t.status === 'up' || t.status === 'leaving' || t.status === 'exiting')) continue
          const tid = raftId(t.node, t.incarnation)
          const peer = this.all.find((m) => m.id === tid)
          const heard = peer !== undefined && peer.process.isRunning && !this.network.isBlocked(tid, o.id)
          if (heard || !o.heard.has(tid)) o.heard.set(tid, now)
          const suspected = now - (o.heard.get(tid) as number) > after
          if ((o.reported.get(tid) ?? false) === suspected || o.inFlight.has(tid)) continue
          if (suspected) this.options.onSuspect?.(o.name, t.node, now)
          o.inFlight.add(tid)
          o.cs.reportSuspicion(t.node, t.incarnation, suspected).then(
            () => o.reported.set(tid, suspected),
            (error: unknown) => {
              // Not committed (no quorum on this side): retried on the next heartbeat.
              if (!(error instanceof ClusterNoQuorumError)) o.reported.set(tid, suspected)
            },
          ).finally(() => o.inFlight.delete(tid))
        }
      }
      this.detectorTick()
    }, 'cluster-state failure detector')
  }
}
