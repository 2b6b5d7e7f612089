import type { ActorClass, ActorRef, ActorSystem, MethodArgs, MethodName, MethodReply, ProtocolOf, SpawnArgs } from '../runtime/index.ts'
import type { Actor } from '../runtime/index.ts'
import { Simulation, type SimSystemOptions, type SimulationOptions } from './Simulation.ts'
import { TestProbe } from './TestProbe.ts'

export interface ActorTestKitOptions extends SimulationOptions {
  /** Options for the test system (name defaults to `test`). */
  readonly system?: Partial<SimSystemOptions>
}

/**
 * One actor system on a deterministic simulation, with the conveniences a unit test of actors wants:
 * spawn, probes, asks that drive virtual time until they settle, and shutdown.
 *
 * ```ts
 * const kit = ActorTestKit.create()
 * const counter = kit.spawn(Counter)
 * counter.tell('inc', 2)
 * expect(await kit.ask(counter, 'get')).toBe(2)
 * await kit.shutdown()
 * ```
 */
export class ActorTestKit {
  readonly sim: Simulation
  readonly system: ActorSystem
  private probes = 0

  static create(options: ActorTestKitOptions = {}): ActorTestKit {
    return new ActorTestKit(options)
  }

  private constructor(options: ActorTestKitOptions) {
    const { system, ...simulation } = options
    this.sim = new Simulation(simulation)
    this.system = this.sim.createSystem({ ...(system ?? {}), name: system?.name ?? 'test' })
  }

  /** Starts a top-level actor in the test system. */
  spawn<C extends ActorClass<Actor<any>, any[]>>(actorClass: C, ...options: SpawnArgs<C>): ActorRef<ProtocolOf<InstanceType<C>>> {
    return this.system.spawn(actorClass, ...options)
  }

  /** A probe in the test system (see TestProbe). */
  createProbe<P = any>(name?: string): TestProbe<P> {
    return new TestProbe<P>(this.sim, this.system, name ?? `probe-${++this.probes}`)
  }

  /** Asks and drives the simulation until the reply (or the ask's own virtual timeout) settles it. */
  ask<P, K extends MethodName<P>>(ref: ActorRef<P>, method: K, ...args: MethodArgs<P, K>): Promise<MethodReply<P, K>> {
    return this.sim.settle(ref.ask(method, ...args))
  }

  /** Tells and runs until nothing is left to do. */
  async tellAndSettle<P, K extends MethodName<P>>(ref: ActorRef<P>, method: K, ...args: MethodArgs<P, K>): Promise<void> {
    ref.tell(method, ...args)
    await this.sim.runUntilIdle()
  }

  advance(ms: number): Promise<void> {
    return this.sim.advance(ms)
  }

  runUntil(predicate: () => boolean, maxVirtualMs?: number): Promise<void> {
    return this.sim.runUntil(predicate, maxVirtualMs)
  }

  runUntilIdle(maxVirtualMs?: number): Promise<void> {
    return this.sim.runUntilIdle(maxVirtualMs)
  }

  /** Terminates the system, driving the simulation until every actor has stopped. */
  async shutdown(): Promise<void> {
    await this.sim.settle(this.system.terminate())
  }
}
