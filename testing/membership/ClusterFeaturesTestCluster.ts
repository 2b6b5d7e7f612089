import { createCluster, type Cluster } from '../../cluster/features/index.ts'
import { raftId, type ClusterStateNode } from '../../cluster/membership/index.ts'
import { InvalidArgumentError, type ActorSystem } from '../../runtime/index.ts'
import { Remoting } from '../../transport/index.ts'
import type { SimProcess } from '../SimProcess.ts'
import type { Simulation } from '../Simulation.ts'
import { ClusterStateTestCluster, type ClusterStateTestOptions } from './ClusterStateTestCluster.ts'

/** Runs on every member incarnation once its actor system and cluster features exist (register actors, declare singletons). */
export type FeaturesBoot = (member: FeaturesMember) => void | Promise<void>

export interface ClusterFeaturesTestOptions extends ClusterStateTestOptions {
  /** Members started after the founders (they join). Default none. */
  readonly joiners?: readonly string[]
  readonly boot?: FeaturesBoot
  /** The actor system name on every member. Default `sim`. */
  readonly systemName?: string
  readonly writeTimeoutMs?: number
}

/** One member incarnation: its process, cluster state node, actor system and cluster features. */
export interface FeaturesMember {
  readonly name: string
  readonly incarnation: number
  readonly process: SimProcess
  readonly state: ClusterStateNode
  readonly system: ActorSystem
  readonly cluster: Cluster
}

/**
 * Cluster features in the simulator: a ClusterStateTestCluster (Raft cluster state, modelled failure
 * detector) where every member incarnation also runs an actor system on the same simulated process,
 * joined to the others by Remoting over the same simulated network, with `createCluster` on top.
 * Partitions cut both the cluster state's links and the actors' links.
 */
export class ClusterFeaturesTestCluster {
  readonly states: ClusterStateTestCluster
  readonly sim: Simulation
  private readonly options: ClusterFeaturesTestOptions
  private readonly current = new Map<string, FeaturesMember>()
  private readonly all: FeaturesMember[] = []

  private constructor(states: ClusterStateTestCluster, options: ClusterFeaturesTestOptions) {
    this.states = states
    this.sim = states.sim
    this.options = options
  }

  static async create(sim: Simulation, options: ClusterFeaturesTestOptions = {}): Promise<ClusterFeaturesTestCluster> {
    const states = await ClusterStateTestCluster.create(sim, options)
    const c = new ClusterFeaturesTestCluster(states, options)
    for (const name of states.names) await c.attach(name)
    for (const j of options.joiners ?? []) await c.start(j)
    return c
  }

  /** Boots `name` as a new incarnation (it joins), with a fresh actor system and cluster features. */
  async start(name: string): Promise<void> {
    await this.states.start(name)
    await this.attach(name)
  }

  private async attach(name: string): Promise<void> {
    const incarnation = this.states.incarnation(name)
    const sm = this.states.members().find((m) => m.name === name && m.incarnation === incarnation)
    if (sm === undefined) throw new InvalidArgumentError(`no member ${name}#${incarnation}`)
    const systemName = this.options.systemName ?? 'sim'
    const system = this.sim.createSystem({ name: systemName, node: name, process: sm.process })
    new Remoting(system, this.states.network.attach({ system: systemName, node: name, shard: 0 }, sm.process))
    const cluster = createCluster({ system, state: sm.cs, writeTimeoutMs: this.options.writeTimeoutMs ?? 5000 })
    const m: FeaturesMember = { name, incarnation, process: sm.process, state: sm.cs, system, cluster }
    this.current.set(name, m)
    this.all.push(m)
    const booted = this.options.boot?.(m)
    if (booted instanceof Promise) booted.catch((error: unknown) => this.sim.reportFailure(`boot of ${name}#${incarnation} failed: ${(error as Error).message}`, error))
  }

  get names(): string[] {
    return [...this.current.keys()]
  }
  member(name: string): FeaturesMember {
    const m = this.current.get(name)
    if (m === undefined) throw new InvalidArgumentError(`no member ${name}`)
    return m
  }
  cluster(name: string): Cluster {
    return this.member(name).cluster
  }
  system(name: string): ActorSystem {
    return this.member(name).system
  }
  /** Every incarnation ever started (crashed ones too), for invariants. */
  members(): readonly FeaturesMember[] {
    return this.all
  }
  leader(): string | null {
    return this.states.leader()
  }

  /** Runs until every named member is up in every named member's replica. */
  async allUp(names: readonly string[] = this.names, maxVirtualMs = 30_000): Promise<void> {
    await this.sim.runUntil(() => names.every((o) => names.every((n) => this.member(o).state.state.member(n)?.status === 'up')), maxVirtualMs)
  }

  /** Cuts both the cluster state's and the actors' links between groups of member names. */
  partition(...groups: (readonly string[])[]): void {
    const ids = (g: readonly string[]): string[] => [...g, ...this.states.members().filter((m) => g.includes(m.name)).map((m) => raftId(m.name, m.incarnation))]
    this.states.network.partition(...groups.map(ids))
  }
  heal(): void {
    this.states.network.heal()
  }
  crash(name: string): void {
    this.states.crash(name)
  }
  pause(name: string): void {
    this.states.pause(name)
  }
  resume(name: string): void {
    this.states.resume(name)
  }
  advance(ms: number): Promise<void> {
    return this.sim.advance(ms)
  }
  runUntil(predicate: () => boolean, maxVirtualMs = 10_000): Promise<void> {
    return this.sim.runUntil(predicate, maxVirtualMs)
  }

  /**
   * Checked after every simulator event: at most one instance of singleton `name` runs on a member
   * incarnation that the most advanced replica (what every majority observer applies next) still
   * counts as live, and no two of them share a fencing token. Returns the remover.
   */
  singletonInvariant(name: string): () => void {
    return this.sim.invariant(`singleton ${name} never runs twice for a majority observer`, () => {
      let latest: ClusterStateNode | null = null
      for (const m of this.all) if (latest === null || m.state.state.applied > latest.state.applied) latest = m.state
      if (latest === null) return true
      const live: string[] = []
      for (const m of this.all) {
        if (m.process.isCrashed || m.cluster.singletonStatus(name)?.running !== true) continue
        const seen = latest.state.member(m.name)
        if (seen !== undefined && seen.incarnation === m.incarnation && seen.status !== 'down' && seen.status !== 'removed') live.push(`${m.name}#${m.incarnation}`)
      }
      return live.length <= 1 || `two live instances of ${name}: ${live.join(', ')} (latest applied index ${latest.state.applied})`
    })
  }
}
