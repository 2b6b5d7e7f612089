import { mailboxDepth, type Actor, type ActorClass, type ActorContext, type ActorRef, type ExitReason } from '../../runtime/index.ts'
import { childSpecProblems, type AnyChildSpec, type ChildSpecBase } from '../ChildSpec.ts'
import { kindOf } from '../ChildRunner.ts'
import { newState, type ChildState } from '../ChildTable.ts'
import { withForwarding } from '../Forwarding.ts'
import { SupervisorBase } from '../SupervisorBase.ts'
import { throwIfProblems, type SupervisorOptions } from '../SupervisorConfig.ts'
import type { ResizerOptions } from './Resizer.ts'
import type { RouterCore } from './RouterCore.ts'
import type { RoutingLogic } from './RoutingLogic.ts'

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/** What every routee of a pool is started from. */
export type RouteeTemplate<C extends ActorClass<Actor<any>, any[]>> = Omit<ChildSpecBase, 'id' | 'significant'> & { readonly actor: C; readonly args: ArgsOf<C> }

export interface PoolOptions<C extends ActorClass<Actor<any>, any[]>> extends Omit<SupervisorOptions, 'strategy' | 'autoShutdown'> {
  readonly routee: RouteeTemplate<C>
  /** Routees started with the pool (raised to the resizer's lowerBound). */
  readonly size: number
  readonly logic: RoutingLogic
  /** Grows and shrinks the pool with the pressure on its routees (Akka's DefaultResizer). */
  readonly resizer?: ResizerOptions
}

/** The router actor's own messages (its RouterRef is typed with the routees' protocol instead). */
export interface RouterControlProtocol {
  /** The routees messages go to now. */
  $routees(): readonly ActorRef<any>[]
}

/** @internal A pool's messages to itself. */
interface PoolInternal extends RouterControlProtocol {
  $ready(): void
  $resize(delta: number): void
}

/** A router's actor has no `self` pressure to drain before the fast path opens: hand over what it queued first. */
function readyWhenDrained(context: ActorContext<any>, core: RouterCore): void {
  if (mailboxDepth(context.self) > 0) (context.self as ActorRef<PoolInternal>).tell('$ready')
  else core.ready = true
}

/**
 * A pool router (Akka's Pool, Proto.Actor's pool): spawns `size` routees of one class and supervises
 * them as a one_for_one supervisor does (restart types, deciders, backoff, restart budget), keeping
 * the routee list current across restarts and resizes. Spawn it with `spawnPool`.
 */
export class PoolRouter<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> extends SupervisorBase<PoolInternal> implements PoolInternal {
  static readonly reentrant = true
  private readonly core: RouterCore
  private readonly template: RouteeTemplate<C>
  private readonly initialSize: number
  private nextId = 0

  constructor(core: RouterCore, options: PoolOptions<C>) {
    const template = options.routee as unknown as AnyChildSpec
    const problems = childSpecProblems({ ...template, id: 'routee' })
    if (!(Number.isInteger(options.size) && options.size >= 0)) problems.push(`size must be an integer >= 0, got ${String(options.size)}`)
    throwIfProblems(problems, 'pool router spec')
    super({ ...options, strategy: 'one_for_one' })
    this.forgetStoppedChildren = true
    this.core = core
    this.template = options.routee
    const resizer = options.resizer
    this.initialSize = resizer === undefined ? options.size : Math.min(Math.max(options.size, resizer.lowerBound ?? 1), resizer.upperBound ?? 10)
    return withForwarding(this, (method) => (...args: unknown[]) => this.core.fromMailbox(this.context, method, args))
  }

  override async preStart(): Promise<void> {
    for (let i = 0; i < this.initialSize; i++) await this.addRoutee()
    this.refresh()
    readyWhenDrained(this.context, this.core)
  }

  $routees(): readonly ActorRef<any>[] {
    return this.core.routees
  }

  $ready(): void {
    readyWhenDrained(this.context, this.core)
  }

  $resize(delta: number): Promise<void> {
    return this.enqueue(async () => {
      try {
        if (delta > 0) for (let i = 0; i < delta; i++) await this.addRoutee()
        else this.removeRoutees(-delta)
      } finally {
        this.refresh()
        this.core.resized()
      }
    })
  }

  protected override onStarted(state: ChildState): void {
    super.onStarted(state)
    this.refresh()
  }

  override onChildTerminated(child: ActorRef<any>, reason: ExitReason): void {
    super.onChildTerminated(child, reason)
    this.refresh()
  }

  private async addRoutee(): Promise<void> {
    const spec = { ...(this.template as unknown as AnyChildSpec), id: `routee-${this.nextId++}` }
    const state = newState(spec, kindOf(spec))
    this.children.add(state)
    try {
      await this.startChildState(state)
    } catch {
      // A routee that cannot start is left out; the pool runs with the others.
      this.children.remove(state)
    }
  }

  /** Akka removes routees gracefully: out of the list first, then a poison pill behind their queue. */
  private removeRoutees(count: number): void {
    const states = this.children.toArray()
    for (let i = states.length - 1; i >= 0 && count > 0; i--, count--) {
      const state = states[i] as ChildState
      this.children.remove(state)
      if (state.ref !== null) this.context.system.poison(state.ref)
    }
  }

  private refresh(): void {
    const routees: ActorRef<any>[] = []
    for (const state of this.children.values()) if (state.ref !== null) routees.push(state.ref)
    this.core.setRoutees(routees)
  }
}
