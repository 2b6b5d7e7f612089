import type { ActorRef } from '../runtime/index.ts'
import { childSpecProblems, type AnyChildSpec } from './ChildSpec.ts'
import { kindOf, type StartChildResult } from './ChildRunner.ts'
import { newState, type ChildCounts, type ChildInfo, type ChildState } from './ChildTable.ts'
import {
  ChildAlreadyPresentError,
  ChildAlreadyStartedError,
  ChildRestartingError,
  ChildRunningError,
  ChildStartError,
  InvalidChildSpecError,
  UnknownChildError,
} from './errors.ts'
import { SupervisorBase } from './SupervisorBase.ts'
import { significantProblems, supervisorSpecProblems, throwIfProblems, type SupervisorOptions } from './SupervisorConfig.ts'

export interface SupervisorSpec extends SupervisorOptions {
  /** Started in this order; stopped in reverse. */
  readonly children: readonly AnyChildSpec[]
}

/** Messages a supervisor handles: OTP's `supervisor` API. */
export interface SupervisorProtocol {
  /**
   * Adds a child spec and starts it (`start_child`): `{ ref, info? }`, `ref` null if its start
   * returned `'ignore'`. Rejects with ERR_ALREADY_STARTED (`data.ref`), ERR_ALREADY_PRESENT,
   * ERR_INVALID_CHILD_SPEC or ERR_CHILD_START.
   */
  startChild(spec: AnyChildSpec): Promise<StartChildResult>
  /** Stops a child and keeps its spec (a temporary child's is removed), as `terminate_child`. Idempotent. */
  terminateChild(id: string): Promise<void>
  /** Starts a terminated child again from its spec (`restart_child`); ERR_CHILD_RUNNING / ERR_CHILD_RESTARTING otherwise. */
  restartChild(id: string): Promise<StartChildResult>
  /** Removes a terminated child's spec (`delete_child`); ERR_CHILD_RUNNING / ERR_CHILD_RESTARTING otherwise. */
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
 * The whole spec is checked at construction: one InvalidSupervisorSpecError lists every problem.
 */
export class Supervisor extends SupervisorBase<SupervisorProtocol> implements SupervisorProtocol {
  private readonly initialChildren: readonly AnyChildSpec[]

  constructor(spec: SupervisorSpec) {
    throwIfProblems(supervisorSpecProblems(spec), 'supervisor spec')
    super(spec)
    this.initialChildren = spec.children
  }

  /** Starts the children in order (OTP); if one fails, stops the started ones in reverse and fails. */
  override async preStart(): Promise<void> {
    for (const spec of this.initialChildren) this.children.add(newState(spec, kindOf(spec)))
    for (const state of this.children.toArray()) {
      try {
        // A child whose start returns 'ignore' is kept with no ref (OTP).
        await this.startChildState(state)
      } catch (error) {
        this.publish({ type: 'start-failed', supervisor: this.self, childId: state.spec.id, error: error as Error })
        this.shuttingDown = true
        await this.shutdownChildren()
        throw new ChildStartError(`child '${state.spec.id}' of ${this.context.path} failed to start`, { cause: error, data: { childId: state.spec.id } })
      }
    }
  }

  startChild(spec: AnyChildSpec): Promise<StartChildResult> {
    return this.enqueue(async () => {
      const problems = [...childSpecProblems(spec), ...significantProblems(this.autoShutdown, [spec])]
      if (problems.length > 0) throw new InvalidChildSpecError(problems.join('; '), { data: { problems } })
      const existing = this.children.get(spec.id)
      if (existing !== undefined) {
        if (existing.status === 'terminated') throw new ChildAlreadyPresentError(`child '${spec.id}' is already present (use restartChild)`, { data: { childId: spec.id } })
        throw new ChildAlreadyStartedError(`child '${spec.id}' is already started`, { data: { childId: spec.id, ref: existing.ref } })
      }
      const state = newState(spec, kindOf(spec))
      this.children.add(state)
      let result: StartChildResult
      try {
        result = await this.startChildState(state)
      } catch (error) {
        this.children.remove(state)
        throw new ChildStartError(`child '${spec.id}' failed to start`, { cause: error, data: { childId: spec.id } })
      }
      // OTP: an ignored temporary child is not recorded; any other ignored child keeps its spec.
      if (result.ref === null && (spec.restart ?? 'permanent') === 'temporary') this.children.remove(state)
      return result
    })
  }

  terminateChild(id: string): Promise<void> {
    return this.enqueue(async () => {
      const state = this.requireState(id)
      await this.terminateState(state)
      if ((state.spec.restart ?? 'permanent') === 'temporary') this.children.remove(state)
    })
  }

  restartChild(id: string): Promise<StartChildResult> {
    return this.enqueue(async () => {
      const state = this.requireTerminated(id)
      try {
        return await this.startChildState(state)
      } catch (error) {
        throw new ChildStartError(`child '${id}' failed to start`, { cause: error, data: { childId: id } })
      }
    })
  }

  deleteChild(id: string): Promise<void> {
    return this.enqueue(() => {
      this.children.remove(this.requireTerminated(id))
    })
  }

  whichChildren(): ChildInfo[] {
    return this.children.toArray().map((state) => this.infoOf(state))
  }

  countChildren(): ChildCounts {
    return this.counts()
  }

  lookupChild(id: string): ActorRef<any> | null {
    const state = this.children.get(id)
    return state === undefined || state.status !== 'running' ? null : state.ref
  }

  private requireState(id: string): ChildState {
    const state = this.children.get(id)
    if (state === undefined) throw new UnknownChildError(`no child '${id}'`, { data: { childId: id } })
    return state
  }

  /** OTP's `running` / `restarting` / `not_found` refusals of restart_child and delete_child. */
  private requireTerminated(id: string): ChildState {
    const state = this.requireState(id)
    if (state.status === 'restarting') throw new ChildRestartingError(`child '${id}' is restarting`, { data: { childId: id } })
    if (state.status !== 'terminated') throw new ChildRunningError(`child '${id}' is ${state.status}`, { data: { childId: id } })
    return state
  }
}
