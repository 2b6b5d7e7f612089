import { ActorSystem, type ActorContext, type ActorRef, type SpawnOptionsBase } from '../../runtime/index.ts'
import { BreakerClient } from './BreakerClient.ts'
import { resolveBreakerOptions, type BreakerOptions } from './BreakerOptions.ts'
import { CircuitBreaker, type CircuitBreakerProtocol } from './CircuitBreaker.ts'

/** A started breaker: its actor, and a fast-path client on the same system judging calls with the same options. */
export interface Breaker {
  readonly ref: ActorRef<CircuitBreakerProtocol>
  readonly client: BreakerClient
}

/**
 * Starts a CircuitBreaker actor under `parent` (a system: top level; an actor's context: its child)
 * and connects a client to it. Options are checked first: bad ones reject with
 * ERR_BREAKER_INVALID_CONFIG listing every problem, before anything is spawned. Under a Supervisor,
 * put `CircuitBreaker` in a child spec instead and `BreakerClient.connect` to the child.
 */
export async function spawnBreaker(parent: ActorSystem | ActorContext<any>, options: BreakerOptions, spawn: Omit<SpawnOptionsBase, 'args'> = {}): Promise<Breaker> {
  resolveBreakerOptions(options)
  const system = parent instanceof ActorSystem ? parent : parent.system
  const ref = parent instanceof ActorSystem ? await parent.spawnAndWait(CircuitBreaker, { ...spawn, args: [options] }) : await parent.spawnAndWait(CircuitBreaker, { ...spawn, args: [options] })
  const client = await BreakerClient.connect(system, ref, options)
  return { ref, client }
}
