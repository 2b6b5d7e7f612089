import { InvalidArgumentError, toError, type ActorRef, type ActorSystem } from '../runtime/index.ts'
import { Remoting, type RemotingOptions } from '../transport/index.ts'
import { DurableStore } from './DurableStore.ts'
import { SimDisk, type SimDiskOptions } from './SimDisk.ts'
import type { SimProcess } from './SimProcess.ts'
import type { SimSystemOptions, Simulation } from './Simulation.ts'
import { SimulatedNetwork, type SimulatedNetworkOptions } from './SimulatedNetwork.ts'

/**
 * Builds a node's actors. Called when the cluster starts and again after every restart, with a
 * fresh actor system and the node's durable store (what it wrote before crashing is still there).
 */
export type BootFunction = (system: ActorSystem, durable: DurableStore, node: ClusterNode) => void | Promise<void>

export interface SimulatedClusterOptions {
  /** Node names, or a count (`3` gives n1, n2, n3). */
  readonly nodes: number | readonly string[]
  readonly boot: BootFunction
  readonly network?: SimulatedNetworkOptions
  /** The actor system name every node uses (addresses are `name@node:0`). Default `sim`. */
  readonly systemName?: string
  /** Further options for every node's system (askTimeoutMs, mailbox, serializeMessages, ...). */
  readonly system?: Omit<SimSystemOptions, 'name' | 'node' | 'process'>
  readonly remoting?: RemotingOptions
  /** Each node's SimDisk (`node.disk`): torn writes, latent read errors. */
  readonly disk?: SimDiskOptions
}

export type ClusterNodeState = 'up' | 'paused' | 'crashed'

/** One simulated node: a sequence of incarnations (process + actor system) sharing a durable store. */
export class ClusterNode {
  readonly name: string
  /** What survives crashes. Boot code gets a view bound to the live incarnation. */
  readonly durable = new DurableStore()
  /** The node's disk (files, fsync, rename): survives crashes as a real disk does (see SimDisk). */
  readonly disk: SimDisk
  /** 1 for the first boot, +1 per restart. */
  incarnation = 0
  private current: { process: SimProcess; system: ActorSystem; remoting: Remoting } | null = null
  private readonly owner: SimulatedCluster

  /** @internal */
  constructor(cluster: SimulatedCluster, name: string, disk: SimDiskOptions) {
    this.owner = cluster
    this.name = name
    this.disk = new SimDisk(cluster.sim, name, disk)
  }

  /** The cluster this node belongs to (boot code uses it to find actors on nodes booted before). */
  get cluster(): SimulatedCluster {
    return this.owner
  }

  /** The current incarnation's actor system (after a crash: the dead one, until a restart). */
  get system(): ActorSystem {
    return this.live().system
  }

  get process(): SimProcess {
    return this.live().process
  }

  get remoting(): Remoting {
    return this.live().remoting
  }

  get state(): ClusterNodeState {
    const process = this.live().process
    return process.isCrashed ? 'crashed' : process.isPaused ? 'paused' : 'up'
  }

  get isUp(): boolean {
    return this.state === 'up'
  }

  /** Kills the node: every actor and all in-memory state is gone; the durable store stays. */
  crash(): void {
    this.owner.crash(this.name)
  }

  /** Boots a new incarnation (crashing the current one first if it still runs). */
  restart(): void {
    this.owner.restart(this.name)
  }

  pause(): void {
    this.owner.pause(this.name)
  }

  resume(): void {
    this.owner.resume(this.name)
  }

  /** @internal */
  install(process: SimProcess, system: ActorSystem, remoting: Remoting): void {
    this.current = { process, system, remoting }
  }

  private live(): { process: SimProcess; system: ActorSystem; remoting: Remoting } {
    if (this.current === null) throw new InvalidArgumentError(`node ${this.name} has not booted yet`)
    return this.current
  }
}

/**
 * N simulated nodes in one process, each its own actor system on its own simulated process, joined
 * by Remoting over a SimulatedNetwork — the same seam the NATS transport implements, so everything
 * above it runs as it would across machines. Nodes can be crashed (in-memory state lost, the durable
 * store kept), restarted (`boot` runs again), paused and resumed; the network can be partitioned.
 */
export class SimulatedCluster {
  readonly sim: Simulation
  readonly network: SimulatedNetwork
  readonly systemName: string
  private readonly byName = new Map<string, ClusterNode>()
  private readonly order: ClusterNode[] = []
  private readonly options: SimulatedClusterOptions

  constructor(sim: Simulation, options: SimulatedClusterOptions) {
    this.sim = sim
    this.options = options
    this.systemName = options.systemName ?? 'sim'
    this.network = new SimulatedNetwork(sim, options.network ?? {})
    const names = typeof options.nodes === 'number' ? Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`) : [...options.nodes]
    if (names.length === 0) throw new InvalidArgumentError('a cluster needs at least one node')
    for (const name of names) {
      if (this.byName.has(name)) throw new InvalidArgumentError(`duplicate node name '${name}'`)
      const node = new ClusterNode(this, name, options.disk ?? {})
      this.byName.set(name, node)
      this.order.push(node)
    }
    for (const node of this.order) this.boot(node)
  }

  get nodes(): readonly ClusterNode[] {
    return this.order
  }

  node(name: string): ClusterNode {
    const node = this.byName.get(name)
    if (node === undefined) throw new InvalidArgumentError(`no node named '${name}' (nodes: ${[...this.byName.keys()].join(', ')})`)
    return node
  }

  /** The system of node `name` (current incarnation). */
  system(name: string): ActorSystem {
    return this.node(name).system
  }

  /** `ref` as seen from node `from`: a remote ref unless the actor lives there. */
  ref<P>(from: string, ref: ActorRef<P>): ActorRef<P> {
    return this.system(from).refFor<P>(ref.address)
  }

  /**
   * The actor registered as `name` (or living at path `name` when it starts with `/`) on node `on`,
   * addressed from node `from` (default: `on`).
   */
  lookup<P>(on: string, name: string, from: string = on): ActorRef<P> | undefined {
    const system = this.system(on)
    const ref = name.startsWith('/') ? system.resolvePath<P>(name) : system.lookup<P>(name)
    return ref === undefined || from === on ? ref : this.ref(from, ref)
  }

  crash(name: string): void {
    const node = this.node(name)
    if (node.state === 'crashed') return
    node.process.crash()
  }

  restart(name: string): void {
    const node = this.node(name)
    if (node.state !== 'crashed') node.process.crash()
    this.boot(node)
  }

  pause(name: string): void {
    this.node(name).process.pause()
  }

  resume(name: string): void {
    this.node(name).process.resume()
  }

  private boot(node: ClusterNode): void {
    node.incarnation++
    const label = node.incarnation === 1 ? node.name : `${node.name}#${node.incarnation}`
    const process = this.sim.createProcess(label)
    const system = this.sim.createSystem({ ...(this.options.system ?? {}), name: this.systemName, node: node.name, process })
    const transport = this.network.attach({ system: this.systemName, node: node.name, shard: 0 }, process)
    const remoting = new Remoting(system, transport, this.options.remoting ?? {})
    node.install(process, system, remoting)
    node.disk.attach(process)
    let booted: void | Promise<void>
    try {
      booted = this.options.boot(system, node.durable.boundTo(process), node)
    } catch (error) {
      throw new InvalidArgumentError(`boot of node ${node.name} (incarnation ${node.incarnation}) threw: ${toError(error).message}`, { cause: error })
    }
    if (booted instanceof Promise) {
      booted.catch((error: unknown) => this.sim.reportFailure(`boot of node ${node.name} (incarnation ${node.incarnation}) failed: ${toError(error).message}`, error))
    }
  }
}
