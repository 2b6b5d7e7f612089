import type { Actor, ActorClass, ActorRef, ProtocolOf } from '../runtime/index.ts'
import type { AnyChildSpec, ChildSpawner, ChildSpecBase, StartResult } from './ChildSpec.ts'
import { kindOf } from './ChildRunner.ts'
import { newState, type ChildCounts, type ChildInfo, type ChildState } from './ChildTable.ts'
import { ChildStartError, TooManyChildrenError, UnknownChildError } from './errors.ts'
import { SupervisorBase } from './SupervisorBase.ts'
import { dynamicSpecProblems, throwIfProblems, type SupervisorOptions } from './SupervisorConfig.ts'

type ArgsOf<C> = C extends new (...args: infer A) => any ? A : never

/**
 * The one template every dynamic child is started from: an actor class (each `startChild` passes its
 * constructor arguments), or a start function that gets them (and may return `'ignore'` or info).
 */
export type DynamicChildTemplate<C extends ActorClass<Actor<any>, any[]>> = Omit<ChildSpecBase, 'id'> &
  (
    | { readonly actor: C; readonly start?: never }
    | { readonly start: (spawn: ChildSpawner, ...args: ArgsOf<C>) => StartResult | Promise<StartResult>; readonly actor?: never }
  )

export interface DynamicSupervisorSpec<C extends ActorClass<Actor<any>, any[]>> extends Omit<SupervisorOptions, 'strategy' | 'autoShutdown'> {
  readonly child: DynamicChildTemplate<C>
  /** Most children at once; `startChild` beyond it rejects with ERR_TOO_MANY_CHILDREN. Default unlimited. */
  readonly maxChildren?: number
}

/** A dynamic child's start result, typed with the template's protocol. */
export interface DynamicStartResult<C extends ActorClass<Actor<any>, any[]>> {
  readonly ref: ActorRef<ProtocolOf<InstanceType<C>>> | null
  readonly info?: unknown
}

export interface DynamicSupervisorProtocol<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>> {
  /** Starts one more child from the template with these arguments; `ref` is null if its start returned `'ignore'` (nothing is recorded). */
  startChild(...args: ArgsOf<C>): Promise<DynamicStartResult<C>>
  /** Stops a child (O(1) by ref, also while it restarts) and forgets it; ERR_UNKNOWN_CHILD if it is not one. */
  terminateChild(child: ActorRef<any>): Promise<void>
  whichChildren(): ChildInfo[]
  /** `specs` is always 1: the template (OTP). */
  countChildren(): ChildCounts
}

/**
 * OTP's `simple_one_for_one` (Elixir's DynamicSupervisor): no children at start; each `startChild`
 * adds one from the template. Strategy is always one_for_one, children are stopped concurrently.
 */
export class DynamicSupervisor<C extends ActorClass<Actor<any>, any[]> = ActorClass<Actor<any>, any[]>>
  extends SupervisorBase<DynamicSupervisorProtocol<C>>
  implements DynamicSupervisorProtocol<C>
{
  private readonly template: DynamicChildTemplate<C>
  private readonly maxChildren: number
  private readonly idPrefix: string
  private nextId = 0

  constructor(spec: DynamicSupervisorSpec<C>) {
    throwIfProblems(dynamicSpecProblems(spec), 'dynamic supervisor spec')
    super({ ...spec, strategy: 'one_for_one' })
    this.forgetStoppedChildren = true
    this.template = spec.child
    this.maxChildren = spec.maxChildren ?? Infinity
    this.idPrefix = spec.child.actor?.name.toLowerCase() || 'child'
  }

  startChild(...args: ArgsOf<C>): Promise<DynamicStartResult<C>> {
    return this.enqueue(async () => {
      if (this.children.size >= this.maxChildren) {
        throw new TooManyChildrenError(`${this.context.path} has its maximum of ${this.maxChildren} children`, { data: { maxChildren: this.maxChildren } })
      }
      const id = `${this.idPrefix}-${this.nextId++}`
      const template = this.template
      const start = template.start
      const spec: AnyChildSpec = start === undefined ? { ...template, id, args } : { ...template, id, start: (spawn) => start(spawn, ...args) }
      const state = newState(spec, kindOf(spec))
      this.children.add(state)
      let result: DynamicStartResult<C>
      try {
        result = (await this.startChildState(state)) as DynamicStartResult<C>
      } catch (error) {
        this.children.remove(state)
        throw new ChildStartError(`dynamic child failed to start`, { cause: error, data: { childId: id } })
      }
      // OTP: a dynamic child whose start returns ignore is not recorded.
      if (result.ref === null) this.children.remove(state)
      return result
    })
  }

  terminateChild(child: ActorRef<any>): Promise<void> {
    return this.enqueue(async () => {
      const state = this.children.ofRef(child)
      if (state === undefined) throw new UnknownChildError(`${child.path} is not a child of ${this.context.path}`)
      await this.terminateState(state)
      this.children.remove(state)
    })
  }

  whichChildren(): ChildInfo[] {
    return this.children.toArray().map((state) => this.infoOf(state))
  }

  countChildren(): ChildCounts {
    return { ...this.counts(), specs: 1 }
  }

  /** OTP stops a dynamic pool's children all at once, each within its own shutdown. */
  protected override async shutdownChildren(): Promise<void> {
    const stops: Promise<void>[] = []
    for (const state of this.children.values()) stops.push(this.shutdownOne(state as ChildState))
    await Promise.all(stops)
  }
}
