/**
 * The complete example of docs/simulation.md (keep the two in step): a counter service on one node,
 * clients on two others that retry an ask until it is answered. Over a lossy network a retry after
 * a lost *reply* counts the same increment twice, unless the service deduplicates by request id.
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { SimulatedCluster, findFailingSeed, forEachSeed, type Simulation } from '../../testing/index.ts'

interface CounterProtocol {
  add(requestId: string): number
}

class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private value = 0
  private readonly seen = new Set<string>()
  private readonly dedupe: boolean
  private readonly world: World
  constructor(dedupe: boolean, world: World) {
    super()
    this.dedupe = dedupe
    this.world = world
  }
  add(requestId: string): number {
    if (this.dedupe && this.seen.has(requestId)) return this.value
    this.seen.add(requestId)
    this.value++
    this.world.counted = this.value
    return this.value
  }
}

interface ClientProtocol {
  run(increments: number): Promise<void>
}

class Client extends Actor<ClientProtocol> implements ClientProtocol {
  private readonly counter: ActorRef<CounterProtocol>
  private readonly world: World
  constructor(counter: ActorRef<CounterProtocol>, world: World) {
    super()
    this.counter = counter
    this.world = world
  }
  async run(increments: number): Promise<void> {
    for (let i = 0; i < increments; i++) {
      const requestId = `${this.context.system.node}-${i}`
      this.world.issued++
      // At-least-once: ask again until an answer comes back.
      for (;;) {
        try {
          await this.counter.askWith({ timeoutMs: 50 }, 'add', requestId)
          break
        } catch {
          this.world.retries++
        }
      }
    }
    this.world.finished++
  }
}

/** What the test sees and no node does. */
interface World {
  issued: number
  counted: number
  retries: number
  finished: number
}

async function scenario(sim: Simulation, dedupe: boolean): Promise<World> {
  const world: World = { issued: 0, counted: 0, retries: 0, finished: 0 }
  const cluster = new SimulatedCluster(sim, {
    nodes: ['server', 'c1', 'c2'],
    network: { latency: { minMs: 1, maxMs: 20 }, loss: 0.05 },
    boot(system, _durable, node) {
      if (node.name === 'server') {
        system.spawn(Counter, { name: 'counter', args: [dedupe, world] })
        return
      }
      const counter = node.cluster.lookup<CounterProtocol>('server', '/user/counter', node.name) as ActorRef<CounterProtocol>
      system.spawn(Client, { name: 'client', args: [counter, world] }).tell('run', 20)
    },
  })
  sim.invariant('every increment counted once', () => world.counted <= world.issued || `counted ${world.counted}, issued ${world.issued}`)
  await sim.runUntil(() => world.finished === 2, 60_000)
  expect(cluster.network.stats.lost).toBeGreaterThan(0)
  return world
}

describe('an at-least-once counter over a lossy network', () => {
  it('double-counts after a lost reply: the simulator finds a seed that shows it', async () => {
    const found = await findFailingSeed({ seeds: 50 }, (sim) => scenario(sim, false).then(() => {}))
    expect(found?.error.message).toContain("invariant 'every increment counted once' does not hold")
  })

  it('with request ids deduplicated, every seed counts exactly what was issued', async () => {
    await forEachSeed({ seeds: 50 }, async (sim) => {
      const world = await scenario(sim, true)
      expect(world.counted).toBe(world.issued)
    })
  })
})
