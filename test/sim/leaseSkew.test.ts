/**
 * A lease whose holder trusts the server's clock: the grant carries an absolute expiry read on the
 * server's clock, and the holder compares it with its own. With per-node clock skew, a holder whose
 * clock runs behind keeps believing after the server has granted the lease to someone else. The
 * correct twin measures the lease on its own clock, from before it asked, shortened by the drift
 * bound: safe whatever the skew.
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef, type Clock } from '../../runtime/index.ts'
import { findFailingSeed, forEachSeed, SimulatedCluster, type Simulation } from '../../testing/index.ts'
import { seeds } from './support/seeds.ts'

const LEASE_MS = 1000
const MAX_DRIFT_PPM = 1000
const CLIENTS = ['a', 'b', 'c']

interface Grant {
  readonly granted: boolean
  /** On the server's clock. */
  readonly expiresAt: number
}

interface LeaseServerProtocol {
  acquire(client: string): Grant
}

class LeaseServer extends Actor<LeaseServerProtocol> implements LeaseServerProtocol {
  private holder: string | null = null
  private expiresAt = 0
  acquire(client: string): Grant {
    const now = this.context.system.clock.now()
    if (this.holder !== null && this.holder !== client && now < this.expiresAt) return { granted: false, expiresAt: this.expiresAt }
    this.holder = client
    this.expiresAt = now + LEASE_MS
    return { granted: true, expiresAt: this.expiresAt }
  }
}

/** What each holder believes, read by the invariant on the holder's own clock (ghost state). */
type Beliefs = Map<string, { clock: Clock; validUntil: number }>

interface HolderProtocol {
  tryAcquire(): Promise<void>
}

class Holder extends Actor<HolderProtocol> implements HolderProtocol {
  private readonly server: ActorRef<LeaseServerProtocol>
  private readonly beliefs: Beliefs
  private readonly trustsServerClock: boolean
  constructor(server: ActorRef<LeaseServerProtocol>, beliefs: Beliefs, trustsServerClock: boolean) {
    super()
    this.server = server
    this.beliefs = beliefs
    this.trustsServerClock = trustsServerClock
  }
  override preStart(): void {
    this.self.tell('tryAcquire')
  }
  async tryAcquire(): Promise<void> {
    const clock = this.context.system.clock
    const asked = clock.now()
    let grant: Grant
    try {
      grant = await this.server.askWith({ timeoutMs: 200 }, 'acquire', this.context.system.node)
    } catch {
      this.context.timers.startSingle('retry', 50, 'tryAcquire')
      return
    }
    if (!grant.granted) {
      this.context.timers.startSingle('retry', 20 + Math.floor(this.context.system.random.next() * 60), 'tryAcquire')
      return
    }
    // The planted bug: the server's clock reading compared with ours.
    const validUntil = this.trustsServerClock ? grant.expiresAt : asked + LEASE_MS * (1 - (2 * MAX_DRIFT_PPM) / 1e6)
    this.beliefs.set(this.context.system.node, { clock, validUntil })
    this.context.timers.startSingle('retry', Math.max(1, validUntil - clock.now()) + 10, 'tryAcquire')
  }
}

async function scenario(sim: Simulation, trustsServerClock: boolean): Promise<number> {
  const beliefs: Beliefs = new Map()
  new SimulatedCluster(sim, {
    nodes: ['server', ...CLIENTS],
    network: { latency: { minMs: 1, maxMs: 10 } },
    boot(system, _durable, node) {
      if (node.name === 'server') {
        system.spawn(LeaseServer, { name: 'lease' })
        return
      }
      const server = node.cluster.lookup<LeaseServerProtocol>('server', '/user/lease', node.name) as ActorRef<LeaseServerProtocol>
      system.spawn(Holder, { name: 'holder', args: [server, beliefs, trustsServerClock] })
    },
  })
  sim.invariant('at most one node believes it holds the lease', () => {
    const holders = [...beliefs].filter(([, b]) => b.clock.now() < b.validUntil).map(([node]) => node)
    return holders.length <= 1 || `${holders.join(' and ')} both believe they hold the lease`
  })
  await sim.advance(8000)
  // Nodes that held the lease at some point.
  return beliefs.size
}

const clocks = { maxSkewMs: 400, maxDriftPpm: MAX_DRIFT_PPM }

describe('a lease under per-node clock skew and drift', () => {
  it("trusting the server's clock: the simulator finds two holders at once", async () => {
    const found = await findFailingSeed({ seeds: 30, simulation: { clocks } }, (sim) => scenario(sim, true).then(() => {}))
    expect(found?.error.message).toContain('both believe they hold the lease')
  })

  it('the same code with every clock exact never overlaps (the skew is what the bug needs)', async () => {
    await forEachSeed({ seeds: 10 }, (sim) => scenario(sim, true).then(() => {}))
  })

  it('measuring the lease on its own clock, shortened by the drift bound: no seed overlaps, and the lease is held', async () => {
    await forEachSeed({ seeds: seeds(30), simulation: { clocks } }, async (sim) => {
      expect(await scenario(sim, false)).toBeGreaterThan(0)
    })
  })
})
