import { Cache, MemoryCacheL2, MemoryInvalidationHub, type CacheOptions, type CacheProtocol } from '../../../../actors/index.ts'
import { ActorSystem, SeededRandom, type ActorRef } from '../../../../runtime/index.ts'
import { settle, VirtualClock, waitFor } from '../../../../testing/index.ts'

/** One virtual clock for several "nodes" (systems) that share one L2 twin and one bus hub. */
export class World {
  readonly clock = new VirtualClock(0)
  readonly l2 = new MemoryCacheL2(this.clock)
  readonly hub = new MemoryInvalidationHub()
  readonly systems: ActorSystem[] = []

  async node(name: string, options: Partial<CacheOptions<unknown>> = {}): Promise<{ system: ActorSystem; cache: ActorRef<CacheProtocol<unknown>> }> {
    const system = ActorSystem.create({ name, clock: this.clock, random: new SeededRandom(this.systems.length + 1) })
    this.systems.push(system)
    const cache: ActorRef<CacheProtocol<unknown>> = system.spawn(Cache, {
      name: 'cache',
      args: [{ name: 'users', origin: name, jitter: 0, l2: this.l2, bus: this.hub.bus(name), breaker: false, ...options }],
    })
    // preStart reads L2's generation: wait until the actor answers.
    await cache.ask('stats')
    return { system, cache }
  }

  /** Advances virtual time in steps, letting promises and actor turns run between them. */
  async advance(ms: number, step = ms): Promise<void> {
    for (let done = 0; done < ms; done += step) {
      this.clock.advance(Math.min(step, ms - done))
      await settle(3)
    }
  }

  async terminate(): Promise<void> {
    await Promise.all(this.systems.map((s) => s.terminate()))
  }
}

/** A loader whose calls complete when the test says (after `delayMs` of virtual time), counting calls. */
export function slowLoader(clock: VirtualClock, delayMs: number, value: (key: string, call: number) => unknown = (k, n) => `${k}#${n}`) {
  let calls = 0
  const fn = (key: string): Promise<unknown> => {
    const n = ++calls
    return new Promise((resolve) => clock.setTimer(delayMs, () => resolve(value(key, n))))
  }
  return { fn, get calls() { return calls } }
}

export { settle, waitFor }
