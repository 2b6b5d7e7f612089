import {
  RaftCodec,
  type HardState,
  type LogEntry,
  type ProposeResult,
  type RaftEvent,
  type RaftMessage,
  type RaftNode,
  type RaftDurableState,
  type RaftNodeState,
  type Snapshot,
} from '../../cluster/raft/index.ts'
import { InvalidArgumentError } from '../../runtime/index.ts'
import { NetworkProfiles, type NetworkProfileName } from '../NetworkProfiles.ts'
import type { Simulation } from '../Simulation.ts'
import { SimulatedNetwork, type Group } from '../SimulatedNetwork.ts'
import { RaftInvariants } from './RaftInvariants.ts'
import { bootMember, countAppliedIn, liveLeaders, newMember, type Member } from './RaftMember.ts'
import type { MessageFilter, NodeCounters } from './RaftSimTransport.ts'
import { SimRaftStorage, type DurableView } from './SimRaftStorage.ts'

export interface RaftClusterOptions {
  /** Node names or a count (`3`: n1, n2, n3). Default 3. All are voters of the bootstrap configuration. */
  readonly nodes?: number | readonly string[]
  readonly profile?: NetworkProfileName
  /** Test timings by default: heartbeat 100 ms, election [300, 600) ms, tick 20 ms. */
  readonly heartbeatMs?: number
  readonly electionMs?: number
  readonly tickMs?: number
  readonly preVote?: boolean
  readonly checkQuorum?: boolean
  readonly leaseReads?: boolean
  readonly maxInflight?: number
  readonly snapshotEvery?: number
  readonly snapshotChunkBytes?: number
  readonly fsyncMs?: number
  /** SimDisk torn writes on crash. Default true. */
  readonly tornWrites?: boolean
  /** Boot the nodes now. Default true (false: seed durable state first, then `start()`). */
  readonly start?: boolean
}

/** One line of the observer stream. */
export type ClusterEvent = (RaftEvent | { readonly type: 'crash' | 'restart'; readonly node: string }) & { readonly at: number }

const enc = new TextEncoder()

/**
 * A Raft cluster in the deterministic simulator, for tests that read like the literature's (MIT
 * 6.5840, etcd/raft, hashicorp/raft): real RaftNodes over the simulated network (every message
 * encoded), SimDisk-backed storage (crash keeps only what was fsynced), and Raft's safety
 * invariants checked after every simulation step.
 */
export class RaftTestCluster {
  readonly sim: Simulation
  readonly network: SimulatedNetwork
  readonly invariants: RaftInvariants
  readonly codec = new RaftCodec()
  private readonly options: RaftClusterOptions
  private readonly members = new Map<string, Member>()
  private readonly filters: MessageFilter[] = []
  private readonly listeners: ((e: ClusterEvent) => void)[] = []
  private readonly initialVoters: string[]
  private readonly fsyncOverride = new Map<string, number>()

  private constructor(sim: Simulation, options: RaftClusterOptions) {
    this.sim = sim
    this.options = options
    this.network = new SimulatedNetwork(sim, { failureDetector: false, classify: RaftCodec.kindOf, ...NetworkProfiles[options.profile ?? 'reliable'] })
    const spec = options.nodes ?? 3
    this.initialVoters = typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => `n${i + 1}`) : [...spec]
    for (const name of this.initialVoters) this.addMember(name, true)
    this.invariants = new RaftInvariants({
      log: (n) => this.members.get(n)?.raft?.logEntries() ?? null,
      durable: (n) => this.durable(n),
      voters: (n) => this.members.get(n)?.raft?.state().config.voters ?? this.initialVoters,
      nodes: () => [...this.members.keys()],
      commitIndex: (n) => this.members.get(n)?.raft?.state().commitIndex ?? null,
    })
    sim.invariant('raft safety', () => {
      this.invariants.checkCommits()
      return this.invariants.violation ?? true
    })
  }

  /** A cluster of `options.nodes` voters on `sim`, booted unless `start: false`. */
  static async create(sim: Simulation, options: RaftClusterOptions = {}): Promise<RaftTestCluster> {
    const c = new RaftTestCluster(sim, options)
    if (options.start !== false) await c.start()
    return c
  }

  get nodes(): string[] {
    return [...this.members.keys()]
  }

  /** Boots every node that is not up. */
  async start(): Promise<void> {
    for (const m of this.members.values()) if (m.raft === null) await this.boot(m)
  }

  // ------------------------------------------------------------------ observing

  subscribe(listener: (e: ClusterEvent) => void): () => void {
    this.listeners.push(listener)
    return () => {
      const i = this.listeners.indexOf(listener)
      if (i >= 0) this.listeners.splice(i, 1)
    }
  }

  state(node: string): RaftNodeState | null {
    return this.member(node).raft?.state() ?? null
  }

  /** The node's RaftNode (null while crashed), for calls the harness does not wrap. */
  raft(node: string): RaftNode | null {
    return this.member(node).raft
  }

  /** Commands the node's current state machine holds, in order (a snapshot contributes what it covered). */
  applied(node: string): readonly { index: number; command: string }[] {
    return this.member(node).applied
  }

  log(node: string): { snapshotIndex: number; snapshotTerm: number; entries: readonly LogEntry[] } | null {
    return this.member(node).raft?.logEntries() ?? null
  }

  /** What the node has fsynced. */
  durable(node: string): DurableView {
    return this.member(node).storage?.synced() ?? { hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] }
  }

  counters(node: string): NodeCounters {
    return this.member(node).counters
  }

  /** Messages sent by every node, by kind (and in total). */
  totalSent(kinds?: readonly string[]): number {
    let n = 0
    for (const m of this.members.values()) for (const [k, v] of Object.entries(m.counters.sent)) if (kinds === undefined || kinds.includes(k)) n += v.count
    return n
  }

  /** The live leaders of the highest term among live nodes (one in a healthy cluster). */
  leaders(): string[] {
    return liveLeaders(this.members.values())
  }

  leader(): string | null {
    const l = this.leaders()
    return l.length === 1 ? (l[0] as string) : null
  }

  /** A stable hash of everything that happened (same seed, same hash). */
  trace(): string {
    return this.sim.traceHash
  }

  // ------------------------------------------------------------------ acting

  propose(node: string, command: string | Uint8Array): ProposeResult {
    const raft = this.member(node).raft
    if (raft === null) return { index: 0, term: 0, isLeader: false }
    return raft.propose(typeof command === 'string' ? enc.encode(command) : command)
  }

  campaign(node: string): void {
    this.member(node).raft?.campaign()
  }

  net(profile: NetworkProfileName): void {
    this.network.configure(NetworkProfiles[profile])
  }

  disconnect(node: string): void {
    this.network.isolate(node)
  }

  connect(node: string): void {
    this.network.heal([node], this.nodes.filter((n) => n !== node))
  }

  partition(...groups: Group[]): void {
    this.network.partition(...groups)
  }

  partitionOneWay(from: Group, to: Group): void {
    this.network.partitionOneWay(from, to)
  }

  heal(): void {
    this.network.heal()
  }

  pause(node: string): void {
    this.member(node).process?.pause()
  }

  resume(node: string): void {
    this.member(node).process?.resume()
  }

  /** Gives `node` a disk whose fsync takes `ms` of virtual time from now on (across restarts too). */
  slowDisk(node: string, ms: number): void {
    this.fsyncOverride.set(node, ms)
    this.member(node).storage?.setFsyncMs(ms)
  }

  /** Kills the node's process: its memory is gone, its disk keeps what was fsynced (and maybe a torn tail). */
  crash(node: string): void {
    const m = this.member(node)
    if (m.raft === null || m.process === null) return
    m.raft.halt()
    m.process.crash()
    m.raft = null
    this.invariants.crashed(node)
    this.emit({ type: 'crash', node })
  }

  async restart(node: string): Promise<void> {
    const m = this.member(node)
    if (m.raft !== null) this.crash(node)
    await this.boot(m)
  }

  /** Drops or delays matching outgoing messages until the returned function is called. */
  filter(f: MessageFilter): () => void {
    this.filters.push(f)
    return () => {
      const i = this.filters.indexOf(f)
      if (i >= 0) this.filters.splice(i, 1)
    }
  }

  /** Puts an arbitrary (stale or forged) message on the wire from `message.from` to `message.to`. */
  inject(message: RaftMessage, delayMs?: number): void {
    this.network.inject(message.from, message.to, this.codec.encode(message), delayMs === undefined ? {} : { delayMs })
  }

  /** Puts raw bytes on the wire (hostile frames). */
  injectBytes(from: string, to: string, bytes: Uint8Array): void {
    this.network.inject(from, to, bytes, {})
  }

  /** Writes durable state (term, vote, log, snapshot) for a node before it boots, fsynced. */
  async seed(node: string, state: { hardState?: HardState; entries?: readonly LogEntry[]; snapshot?: Snapshot }): Promise<void> {
    const m = this.member(node)
    if (m.raft !== null) throw new InvalidArgumentError(`seed ${node} before it boots (create the cluster with start: false)`)
    const process = this.sim.createProcess(`${node}-seed`)
    m.disk.attach(process)
    const storage = new SimRaftStorage(m.disk, process.clock, { fsyncMs: 0 })
    await storage.load()
    const done: Promise<void>[] = []
    if (state.snapshot !== undefined) done.push(storage.saveSnapshot(state.snapshot))
    done.push(storage.persist({ ...(state.hardState !== undefined ? { hardState: state.hardState } : {}), ...(state.entries !== undefined ? { entries: state.entries } : {}) }))
    await this.sim.settle(Promise.all(done), 1000)
    process.crash()
  }

  /** A fresh server with an empty log and no configuration: it waits to be added (addLearner, then promote). */
  async addNode(name: string): Promise<void> {
    if (this.members.has(name)) throw new InvalidArgumentError(`node ${name} exists`)
    const m = this.addMember(name, false)
    await this.boot(m)
  }

  // ------------------------------------------------------------------ driving

  advance(ms: number): Promise<void> {
    return this.sim.advance(ms)
  }

  runUntil(predicate: () => boolean, maxVirtualMs = 10_000): Promise<void> {
    return this.sim.runUntil(predicate, maxVirtualMs)
  }

  /** Runs until exactly one live leader exists (of the highest term) and returns it. */
  async waitForLeader(maxVirtualMs = 10_000): Promise<string> {
    await this.sim.runUntil(() => this.leader() !== null, maxVirtualMs)
    return this.leader() as string
  }

  /** Runs until every node in `nodes` (default: all up) applied through `index`. */
  async waitApplied(index: number, nodes?: readonly string[], maxVirtualMs = 10_000): Promise<void> {
    const which = nodes ?? this.nodes.filter((n) => this.member(n).raft !== null)
    await this.sim.runUntil(() => which.every((n) => (this.member(n).raft?.state().appliedIndex ?? -1) >= index), maxVirtualMs)
  }

  /** Proposes on whoever leads, retrying through elections (labrpc's `one()`); resolves with the committed index. */
  async one(command: string, expectedNodes?: number, maxVirtualMs = 10_000): Promise<number> {
    const deadline = this.sim.now + maxVirtualMs
    while (this.sim.now < deadline) {
      const leader = this.leader()
      if (leader !== null) {
        const r = this.propose(leader, command)
        if (r.isLeader) {
          const want = expectedNodes ?? this.nodes.length
          const ok = await this.sim.runFor(2000, () => this.countApplied(r.index, command) >= want)
          if (ok) return r.index
        }
      }
      await this.sim.advance(50)
    }
    throw new InvalidArgumentError(`one(${command}): not committed on ${expectedNodes ?? this.nodes.length} nodes within ${maxVirtualMs} ms`)
  }

  /** How many nodes' state machines hold `command` at `index`. */
  countApplied(index: number, command: string): number {
    return countAppliedIn(this.members.values(), index, command)
  }

  // ------------------------------------------------------------------ internals

  private member(node: string): Member {
    const m = this.members.get(node)
    if (m === undefined) throw new InvalidArgumentError(`no node ${node}`)
    return m
  }

  private addMember(name: string, bootstrap: boolean): Member {
    const m = newMember(this.sim, name, bootstrap, this.options.tornWrites ?? true)
    this.members.set(name, m)
    return m
  }

  private emit(e: RaftEvent | { type: 'crash' | 'restart'; node: string }): void {
    if (this.listeners.length === 0) return
    const stamped = { ...e, at: this.sim.now } as ClusterEvent
    for (const l of this.listeners) l(stamped)
  }

  private async boot(m: Member): Promise<void> {
    const before = m.storage?.synced() ?? null
    const storage = await bootMember(m, {
      sim: this.sim,
      network: this.network,
      codec: this.codec,
      filters: this.filters,
      options: this.options,
      initialVoters: this.initialVoters,
      fsyncMs: this.fsyncOverride.get(m.name) ?? this.options.fsyncMs ?? 1,
      observer: (e: RaftEvent) => {
        this.invariants.on(e)
        this.emit(e)
      },
    })
    this.invariants.restarted(m.name, storage.loaded as RaftDurableState, before)
    if (m.incarnation > 1) this.emit({ type: 'restart', node: m.name })
  }
}
