/**
 * A lease-based distributed lock guarding a read-modify-write register — written as ordinary
 * actors, with a real distributed bug planted in the naive version.
 *
 * The lock server grants a lease (so a crashed holder cannot keep the lock forever). A worker that
 * holds the lock reads the register, computes for a while, then writes the new value. If the worker
 * is paused (a GC pause, a frozen VM) after reading, its lease expires, another worker gets the lock
 * and writes, and the first worker then wakes up and writes its stale value: a lost update, though
 * nobody ever "broke" the lock protocol. (Kleppmann's fencing-token example.)
 *
 * The fix is a fencing token: every grant carries a token that increases; the register remembers
 * the highest token it has seen and refuses reads and writes with an older one.
 */
import { Actor, type ActorRef, type ActorSystem } from '../../../runtime/index.ts'
import { SimulatedCluster, applyFaults, type FaultSchedule, type SimulatedNetworkOptions, type Simulation } from '../../../testing/index.ts'

export interface Grant {
  readonly token: number
}

export interface LockProtocol {
  acquire(): Grant | null
  release(token: number): void
}

export interface RegisterProtocol {
  read(token: number): { value: number; version: number } | null
  write(value: number, basedOn: number, token: number): boolean
}

export interface WorkerProtocol {
  run(): Promise<void>
}

/** What the scenario can see that no node can: the register's history, to check invariants on. */
export interface Ghost {
  writes: number
  lostUpdates: number
  refused: number
}

export const LEASE_MS = 200
export const WORK_MS = 30
export const CLIENTS = ['n2', 'n3', 'n4'] as const

class LockServer extends Actor<LockProtocol> implements LockProtocol {
  private holderToken = 0
  private leaseEnds = 0
  private lastToken = 0
  acquire(): Grant | null {
    const now = this.context.system.clock.now()
    if (this.holderToken !== 0 && now < this.leaseEnds) return null
    this.lastToken++
    this.holderToken = this.lastToken
    this.leaseEnds = now + LEASE_MS
    return { token: this.lastToken }
  }
  release(token: number): void {
    if (token === this.holderToken) this.holderToken = 0
  }
}

class Register extends Actor<RegisterProtocol> implements RegisterProtocol {
  private value = 0
  private version = 0
  private highestToken = 0
  private readonly fenced: boolean
  private readonly ghost: Ghost
  constructor(fenced: boolean, ghost: Ghost) {
    super()
    this.fenced = fenced
    this.ghost = ghost
  }
  read(token: number): { value: number; version: number } | null {
    if (this.fenced) {
      if (token < this.highestToken) return null
      this.highestToken = token
    }
    return { value: this.value, version: this.version }
  }
  write(value: number, basedOn: number, token: number): boolean {
    if (this.fenced && token < this.highestToken) {
      this.ghost.refused++
      return false
    }
    this.highestToken = Math.max(this.highestToken, token)
    // The ghost check: a write computed from an older version overwrites someone else's update.
    if (basedOn !== this.version) this.ghost.lostUpdates++
    this.value = value
    this.version++
    this.ghost.writes++
    return true
  }
}

class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  private readonly lock: ActorRef<LockProtocol>
  private readonly register: ActorRef<RegisterProtocol>
  constructor(lock: ActorRef<LockProtocol>, register: ActorRef<RegisterProtocol>) {
    super()
    this.lock = lock
    this.register = register
  }
  override preStart(): void {
    this.self.tell('run')
  }
  async run(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      const grant = await this.lock.askWith({ timeoutMs: 300 }, 'acquire').catch(() => null)
      if (grant === null) {
        await this.sleep(5 + Math.floor(this.context.system.random.next() * 20))
        continue
      }
      const read = await this.register.askWith({ timeoutMs: 300 }, 'read', grant.token).catch(() => null)
      if (read !== null) {
        // Computing the new value takes a while: the window a pause can stretch past the lease.
        await this.sleep(WORK_MS)
        this.register.tell('write', read.value + 1, read.version, grant.token)
      }
      this.lock.tell('release', grant.token)
    }
  }
  /** Waits on the system's clock: virtual time under simulation. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.context.system.clock.setTimer(ms, resolve))
  }
}

export interface LeaseLockOptions {
  /** Fencing tokens at the register (the fix). */
  readonly fenced: boolean
  /** Worker nodes. Default n2, n3, n4. */
  readonly clients?: readonly string[]
  readonly network?: SimulatedNetworkOptions
  /** Register the 'no lost update' invariant. Default true. */
  readonly invariant?: boolean
}

/** Node n1 holds the lock server and the register; every client node runs a worker. */
export function leaseLockCluster(sim: Simulation, options: LeaseLockOptions): { cluster: SimulatedCluster; ghost: Ghost } {
  const ghost: Ghost = { writes: 0, lostUpdates: 0, refused: 0 }
  const fenced = options.fenced
  const cluster = new SimulatedCluster(sim, {
    nodes: ['n1', ...(options.clients ?? CLIENTS)],
    network: options.network ?? { latency: { minMs: 1, maxMs: 10 } },
    boot(system: ActorSystem, _durable, node) {
      if (node.name === 'n1') {
        system.spawn(LockServer, { name: 'lock' })
        system.spawn(Register, { name: 'register', args: [fenced, ghost] })
        return
      }
      // n1 booted first: address its actors from here (as a directory service would hand them out).
      const lock = node.cluster.lookup<LockProtocol>('n1', '/user/lock', node.name) as ActorRef<LockProtocol>
      const register = node.cluster.lookup<RegisterProtocol>('n1', '/user/register', node.name) as ActorRef<RegisterProtocol>
      system.spawn(Worker, { name: 'worker', args: [lock, register] })
    },
  })
  if (options.invariant !== false) {
    sim.invariant('no lost update', () => ghost.lostUpdates === 0 || `${ghost.lostUpdates} lost update(s) after ${ghost.writes} writes`)
  }
  return { cluster, ghost }
}

/** Faults a seed decides: a few pauses of worker nodes, of random length, at random times. */
export function seededFaults(sim: Simulation): FaultSchedule {
  const count = 1 + Math.floor(sim.random.next() * 3)
  return Array.from({ length: count }, () => ({
    kind: 'pause' as const,
    at: Math.floor(sim.random.next() * 2000),
    node: CLIENTS[Math.floor(sim.random.next() * CLIENTS.length)] as string,
    durationMs: 50 + Math.floor(sim.random.next() * 400),
  }))
}

/** One run: build the world, apply the faults, let it work for 3 s of virtual time. */
export async function runLeaseLock(sim: Simulation, fenced: boolean, faults: FaultSchedule): Promise<Ghost> {
  const { cluster, ghost } = leaseLockCluster(sim, { fenced })
  applyFaults(cluster, faults)
  await sim.advance(3000)
  return ghost
}
