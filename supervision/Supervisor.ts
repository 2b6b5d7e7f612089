import type { ActorRef } from '../runtime/index.ts'
import { validateChildSpec, type AnyChildSpec } from './ChildSpec.ts'
import { ChildExistsError, ChildRunningError, ChildStartError, UnknownChildError } from './errors.ts'
import { newState, SupervisorBase, type ChildCounts, type ChildInfo, type SupervisorOptions } from './SupervisorBase.ts'

export interface SupervisorSpec extends SupervisorOptions {
  /** Started in this order; stopped in reverse. */
  readonly children: readonly AnyChildSpec[]
}

/** Messages a supervisor handles: OTP's `supervisor` API. */
export interface SupervisorProtocol {
  /** Adds a child spec and starts it (`start_child`). Rejects with ERR_CHILD_EXISTS or ERR_CHILD_START. */
  startChild(spec: AnyChildSpec): Promise<ActorRef<any>>
  /** Stops a child and keeps its spec (a temporary child's spec is removed), as `terminate_child`. */
  terminateChild(id: string): Promise<void>
  /** Starts a terminated child again from its spec (`restart_child`); ERR_CHILD_RUNNING if it runs. */
  restartChild(id: string): Promise<ActorRef<any>>
  /** Removes a terminated child's spec (`delete_child`); ERR_CHILD_RUNNING if it runs. */
  deleteChild(id: string): Promise<void>
  /** Children in start order (`which_children`). */
  whichChildren(): ChildInfo[]
  countChildren(): ChildCounts
  /** The running child with that id, if any. */
  lookupChild(id: string): ActorRef<any> | null
}

/**
 * An OTP supervisor: a static list of child specs started in order, a strategy, a restart budget,
 * optional backoff per child and auto shutdown. Spawn it like any actor:
 * `system.spawn(Supervisor, { name: 'app', args: [{ strategy: 'one_for_one', children: [...] }] })`.
 */
export class Supervisor extends SupervisorBase<SupervisorProtocol> implements SupervisorProtocol {
  private readonly initialChildren: readonly AnyChildSpec[]

  constructor(spec: SupervisorSpec) {
    super(spec)
    for (const child of spec.children) validateChildSpec(child)
    this.initialChildren = spec.children
  }

  override preStart(): Promise<void> {
    return this.startInitialChildren(this.initialChildren)
  }

  startChild(spec: AnyChildSpec): Promise<ActorRef<any>> {
    return this.enqueue(async () => {
      validateChildSpec(spec)
      if (this.stateById(spec.id) !== undefined) throw new ChildExistsError(`child '${spec.id}' already exists`, { data: { childId: spec.id } })
      const state = newState(spec)
      this.states.push(state)
      try {
        return await this.startChildState(state)
      } catch (error) {
        this.removeState(state)
        throw new ChildStartError(`child '${spec.id}' failed to start`, { cause: error, data: { childId: spec.id } })
      }
    })
  }

  terminateChild(id: string): Promise<void> {
    return this.enqueue(async () => {
      const state = this.requireState(id)
      this.cancelBackoff(state)
      await this.stopState(state, { kind: 'shutdown' })
      state.status = 'terminated'
      if ((state.spec.restart ?? 'permanent') === 'temporary') this.removeState(state)
    })
  }

  restartChild(id: string): Promise<ActorRef<any>> {
    return this.enqueue(async () => {
      const state = this.requireState(id)
      if (state.status !== 'terminated') throw new ChildRunningError(`child '${id}' is ${state.status}`, { data: { childId: id } })
      try {
        return await this.startChildState(state)
      } catch (error) {
        throw new ChildStartError(`child '${id}' failed to start`, { cause: error, data: { childId: id } })
      }
    })
  }

  deleteChild(id: string): Promise<void> {
    return this.enqueue(() => {
      const state = this.requireState(id)
      if (state.status !== 'terminated') throw new ChildRunningError(`child '${id}' is ${state.status}`, { data: { childId: id } })
      this.removeState(state)
    })
  }

  whichChildren(): ChildInfo[] {
    return this.states.map((state) => this.infoOf(state))
  }

  countChildren(): ChildCounts {
    return this.counts()
  }

  lookupChild(id: string): ActorRef<any> | null {
    const state = this.stateById(id)
    return state === undefined || state.status !== 'running' ? null : state.ref
  }

  private requireState(id: string) {
    const state = this.stateById(id)
    if (state === undefined) throw new UnknownChildError(`no child '${id}'`, { data: { childId: id } })
    return state
  }
}
