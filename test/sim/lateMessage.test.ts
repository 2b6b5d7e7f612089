/**
 * A replica that applies whatever configuration arrives last. A network that holds frames and
 * releases them later (a stalled connection flushing after a failover) delivers the old primary's
 * update after the new primary's: the replica goes back in time. The correct twin applies an update
 * only if its version is newer than the one it has.
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { findFailingSeed, forEachSeed, SimulatedCluster, type Simulation } from '../../testing/index.ts'
import { seeds } from './support/seeds.ts'

interface ReplicaProtocol {
  apply(version: number, value: string): void
}

/** What the replica holds, published for the test (ghost state). */
interface Applied {
  version: number
  value: string
}

class Replica extends Actor<ReplicaProtocol> implements ReplicaProtocol {
  private readonly state: Applied
  private readonly checksVersions: boolean
  constructor(state: Applied, checksVersions: boolean) {
    super()
    this.state = state
    this.checksVersions = checksVersions
  }
  apply(version: number, value: string): void {
    // The planted bug: no version check, so a late update overwrites a newer one.
    if (this.checksVersions && version <= this.state.version) return
    this.state.version = version
    this.state.value = value
  }
}

interface PrimaryProtocol {
  push(version: number): void
}

class Primary extends Actor<PrimaryProtocol> implements PrimaryProtocol {
  private readonly replica: ActorRef<ReplicaProtocol>
  constructor(replica: ActorRef<ReplicaProtocol>) {
    super()
    this.replica = replica
  }
  push(version: number): void {
    this.replica.tell('apply', version, `config-${version}`)
  }
}

async function scenario(sim: Simulation, checksVersions: boolean, withHold: boolean): Promise<void> {
  const applied: Applied = { version: 0, value: '' }
  const cluster = new SimulatedCluster(sim, {
    nodes: ['c', 'p1', 'p2'],
    boot(system, _durable, node) {
      if (node.name === 'c') {
        system.spawn(Replica, { name: 'replica', args: [applied, checksVersions] })
        return
      }
      const target = node.cluster.lookup<ReplicaProtocol>('c', '/user/replica', node.name) as ActorRef<ReplicaProtocol>
      system.spawn(Primary, { name: 'primary', args: [target] })
    },
  })
  const primary = (node: string) => cluster.lookup<PrimaryProtocol>(node, '/user/primary') as ActorRef<PrimaryProtocol>
  // p1 pushes versions 1..5, then fails over to p2, which pushes 6..10.
  for (let v = 1; v <= 5; v++) sim.at(v * 40, () => primary('p1').tell('push', v), `p1 pushes ${v}`)
  for (let v = 6; v <= 10; v++) sim.at(200 + (v - 5) * 40, () => primary('p2').tell('push', v), `p2 pushes ${v}`)
  if (withHold) {
    const start = Math.floor(sim.random.next() * 200)
    const duration = 50 + Math.floor(sim.random.next() * 500)
    sim.at(start, () => {
      const hold = cluster.network.hold({ from: 'p1', to: 'c' })
      sim.after(duration, () => hold.release(), 'release p1 -> c')
    }, 'hold p1 -> c')
  }
  await sim.advance(2000)
  if (applied.version !== 10) throw new Error(`the replica ended at version ${applied.version} (${applied.value}), not 10: a late update went back in time`)
}

describe('a protocol meeting a late, released message', () => {
  it('applying whatever arrives last: a held-then-released frame rolls the replica back', async () => {
    const found = await findFailingSeed({ seeds: 30 }, (sim) => scenario(sim, false, true))
    expect(found?.error.message).toContain('a late update went back in time')
  })

  it('without the hold, the same replica looks correct (FIFO links hide the bug)', async () => {
    await forEachSeed({ seeds: 10 }, (sim) => scenario(sim, false, false))
  })

  it('with a version check, no seed rolls back', async () => {
    await forEachSeed({ seeds: seeds(30) }, (sim) => scenario(sim, true, true))
  })
})
