import type { Actor, ActorClass, ActorRef, ProtocolOf } from '../runtime/index.ts'
import { validateChildSpec, type AnyChildSpec, type ChildSpec } from './ChildSpec.ts'
import { ChildStartError, TooManyChildrenError, UnknownChildError } from './errors.ts'
import { newState, SupervisorBase, type ChildCounts, type ChildInfo, type SupervisorOptions } from './SupervisorBase.ts'

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/** The one template every dynamic child is started from; `args` come with each `startChild`. */
export type DynamicChildTemplate<C extends ActorClass<Actor<any>, any[]>> = Omit<ChildSpec<C>, 'id' | 'args'>

export interface DynamicSupervisorSpec<C extends ActorClass<Actor<any>, any[]>> extends Omit<SupervisorOptions, 'strategy'> {
  readonly child: DynamicChildTemplate<C>
  /** Most children at once; `startChild` beyond it rejects with ERR_TOO_MANY_CHILDREN. Default unlimited. */
  readonly maxChildren?: number
}

export interface DynamicSupervisorProtocol<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> {
  /** Starts one more child from the template with these constructor arguments. */
  startChild(...args: ArgsOf<C>): Promise<ActorRef<ProtocolOf<InstanceType<C>>>>
  /** Stops a child; its spec goes with it (dynamic children have no spec to keep). */
  terminateChild(child: ActorRef<any>): Promise<void>
  whichChildren(): ChildInfo[]
  countChildren(): ChildCounts
}

/**
 * OTP's `simple_one_for_one` (Elixir's DynamicSupervisor): no children at start; each `startChild`
 * adds one from the template. Strategy is always one_for_one.
 */
export class DynamicSupervisor<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>>
  extends SupervisorBase<DynamicSupervisorProtocol<C>>
  implements DynamicSupervisorProtocol<C>
{
  private readonly template: DynamicChildTemplate<C>
  private readonly maxChildren: number
  private nextId = 0

  constructor(spec: DynamicSupervisorSpec<C>) {
    super({ ...spec, strategy: 'one_for_one' })
    this.forgetStoppedChildren = true
    validateChildSpec({ ...spec.child, id: 'template', args: [] } as unknown as AnyChildSpec)
    this.template = spec.child
    this.maxChildren = spec.maxChildren ?? Infinity
  }

  startChild(...args: ArgsOf<C>): Promise<ActorRef<ProtocolOf<InstanceType<C>>>> {
    return this.enqueue(async () => {
      if (this.states.length >= this.maxChildren) {
        throw new TooManyChildrenError(`${this.context.path} has its maximum of ${this.maxChildren} children`, { data: { maxChildren: this.maxChildren } })
      }
      const id = `${this.template.actor.name.toLowerCase() || 'child'}-${this.nextId++}`
      const state = newState({ ...this.template, id, args } as unknown as AnyChildSpec)
      this.states.push(state)
      try {
        return (await this.startChildState(state)) as ActorRef<ProtocolOf<InstanceType<C>>>
      } catch (error) {
        this.removeState(state)
        throw new ChildStartError(`dynamic child failed to start`, { cause: error, data: { childId: id } })
      }
    })
  }

  terminateChild(child: ActorRef<any>): Promise<void> {
    return this.enqueue(async () => {
      const state = this.stateOf(child)
      if (state === undefined) throw new UnknownChildError(`${child.path} is not a child of ${this.context.path}`)
      this.cancelBackoff(state)
      await this.stopState(state, { kind: 'shutdown' })
      this.removeState(state)
    })
  }

  whichChildren(): ChildInfo[] {
    return this.states.map((state) => this.infoOf(state))
  }

  countChildren(): ChildCounts {
    return this.counts()
  }
}
