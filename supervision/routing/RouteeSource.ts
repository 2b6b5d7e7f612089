import type { ActorRef } from '../../runtime/index.ts'

/**
 * Where a group router gets its routees. A static list, a `RouteeSet` the application edits, or
 * (later) cluster membership: anything that can say who the routees are now and when that changes.
 */
export interface RouteeSource<P> {
  current(): readonly ActorRef<P>[]
  /** Calls `listener` with the new list on every change; returns the unsubscribe function. */
  subscribe(listener: (routees: readonly ActorRef<P>[]) => void): () => void
}

/** A fixed list of routees. */
export function staticRoutees<P>(routees: readonly ActorRef<P>[]): RouteeSource<P> {
  const list = [...routees]
  return { current: () => list, subscribe: () => () => undefined }
}

/** A routee list the application edits (Akka's AddRoutee / RemoveRoutee). */
export class RouteeSet<P> implements RouteeSource<P> {
  private list: ActorRef<P>[] = []
  private readonly listeners = new Set<(routees: readonly ActorRef<P>[]) => void>()

  constructor(initial: readonly ActorRef<P>[] = []) {
    this.list = [...initial]
  }

  current(): readonly ActorRef<P>[] {
    return this.list
  }

  subscribe(listener: (routees: readonly ActorRef<P>[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  add(routee: ActorRef<P>): void {
    if (this.list.some((r) => r.equals(routee))) return
    this.list = [...this.list, routee]
    this.emit()
  }

  remove(routee: ActorRef<P>): void {
    const next = this.list.filter((r) => !r.equals(routee))
    if (next.length === this.list.length) return
    this.list = next
    this.emit()
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.list)
  }
}
