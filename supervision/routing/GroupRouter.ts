import { Actor, formatAddress, type ActorRef, type Terminated } from '../../runtime/index.ts'
import { withForwarding } from '../Forwarding.ts'
import type { RouterControlProtocol } from './PoolRouter.ts'
import type { RouteeSource } from './RouteeSource.ts'
import type { RouterCore } from './RouterCore.ts'

/**
 * A group router (Akka's Group): routes to refs that exist elsewhere, as its RouteeSource lists
 * them. It watches them: a routee that stops is left out until the source lists it anew. Spawn it
 * with `spawnGroup`.
 */
export class GroupRouter extends Actor<RouterControlProtocol> implements RouterControlProtocol {
  static readonly reentrant = true
  private readonly core: RouterCore
  private readonly source: RouteeSource<any>
  private readonly dead = new Set<string>()
  private readonly watched = new Set<string>()
  private unsubscribe: (() => void) | null = null

  constructor(core: RouterCore, source: RouteeSource<any>) {
    super()
    this.core = core
    this.source = source
    return withForwarding(this, (method) => (...args: unknown[]) => this.core.fromMailbox(this.context, method, args))
  }

  override preStart(): void {
    this.unsubscribe = this.source.subscribe((routees) => this.update(routees))
    this.update(this.source.current())
  }

  override postStop(): void {
    this.unsubscribe?.()
  }

  override onTerminated(terminated: Terminated): void {
    const key = formatAddress(terminated.ref.address)
    this.dead.add(key)
    this.watched.delete(key)
    this.update(this.source.current())
  }

  $routees(): readonly ActorRef<any>[] {
    return this.core.routees
  }

  private update(routees: readonly ActorRef<any>[]): void {
    const live: ActorRef<any>[] = []
    const listed = new Set<string>()
    for (const routee of routees) {
      const key = formatAddress(routee.address)
      listed.add(key)
      if (this.dead.has(key)) continue
      if (!this.watched.has(key)) {
        this.watched.add(key)
        this.context.watch(routee)
      }
      live.push(routee)
    }
    // A dead routee the source no longer lists is forgotten (its address will not come back).
    for (const key of this.dead) if (!listed.has(key)) this.dead.delete(key)
    this.core.setRoutees(live)
  }
}
