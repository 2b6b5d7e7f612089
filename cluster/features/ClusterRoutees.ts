import type { ActorRef } from '../../runtime/index.ts'
import type { RouteeSource } from '../../supervision/index.ts'
import type { Receptionist } from './Receptionist.ts'
import type { ServiceKey } from './ServiceKey.ts'

/**
 * A group router's routees from the receptionist (Akka's cluster-aware group router): the actors
 * registered under `key` anywhere in the cluster, as this member's replica lists them, updated on
 * every change applied here. An actor that stops leaves the listing once its `actorDied` (or its
 * node's down) is applied; the router's own death watch drops it sooner.
 */
export class ClusterRoutees<P> implements RouteeSource<P> {
  private list: readonly ActorRef<P>[] = []
  private readonly listeners = new Set<(routees: readonly ActorRef<P>[]) => void>()
  private readonly off: () => void

  constructor(receptionist: Receptionist, key: ServiceKey<P>) {
    this.off = receptionist.subscribe(key, (refs) => {
      this.list = refs
      for (const l of this.listeners) l(refs)
    })
  }

  current(): readonly ActorRef<P>[] {
    return this.list
  }

  subscribe(listener: (routees: readonly ActorRef<P>[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Stops following the listing. */
  close(): void {
    this.off()
    this.listeners.clear()
  }
}
