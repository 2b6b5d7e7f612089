import type { Actor, ActorClass, ActorContext, ActorRef, ActorSystem, ProtocolOf, SpawnOptionsBase } from '../../runtime/index.ts'
import { GroupRouter } from './GroupRouter.ts'
import { PoolRouter, type PoolOptions } from './PoolRouter.ts'
import { resolveResizer } from './Resizer.ts'
import type { RouteeSource } from './RouteeSource.ts'
import { RouterCore, RouterRef } from './RouterCore.ts'
import type { RoutingLogic } from './RoutingLogic.ts'

/** Where a router is spawned: the system (top level) or an actor's context (a child of that actor). */
export type RouterParent = ActorSystem | ActorContext<any>

function systemOf(parent: RouterParent): ActorSystem {
  return 'self' in parent ? parent.system : parent
}

function spawnUnder(parent: RouterParent, actorClass: unknown, options: object): ActorRef<any> {
  return (parent.spawn as (cls: unknown, options: unknown) => ActorRef<any>)(actorClass, options)
}

/**
 * Spawns a pool router: `size` routees of `routee.actor`, supervised by the router, and returns the
 * router as a ref typed with the routees' protocol. Messages sent before the routees have started
 * wait in the router's mailbox and are handed over in order.
 */
export function spawnPool<C extends ActorClass<Actor<any>, any[]>>(
  parent: RouterParent,
  options: PoolOptions<C>,
  spawnOptions: Omit<SpawnOptionsBase, 'reentrant'> = {},
): RouterRef<ProtocolOf<InstanceType<C>>> {
  const resizer = options.resizer === undefined ? null : resolveResizer(options.resizer)
  const core = new RouterCore(systemOf(parent), options.logic, resizer)
  const actor = spawnUnder(parent, PoolRouter, { ...spawnOptions, args: [core, options] })
  core.attach(actor)
  return new RouterRef(core, actor)
}

/** Spawns a group router over the routees `source` lists (static, a RouteeSet, cluster membership later). */
export function spawnGroup<P>(
  parent: RouterParent,
  options: { readonly routees: RouteeSource<P>; readonly logic: RoutingLogic },
  spawnOptions: Omit<SpawnOptionsBase, 'reentrant'> = {},
): RouterRef<P> {
  const core = new RouterCore(systemOf(parent), options.logic)
  const actor = spawnUnder(parent, GroupRouter, { ...spawnOptions, args: [core, options.routees] })
  core.attach(actor)
  // The routees are known now: route on the sender's turn from the first message.
  core.setRoutees(options.routees.current())
  core.ready = true
  return new RouterRef(core, actor)
}
