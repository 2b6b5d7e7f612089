import { Actor, ExitReasons, isNormalExit, toError, type ActorRef, type Directive, type ExitReason, type TimerHandle } from '../runtime/index.ts'
import { backoffDelay } from './Backoff.ts'
import { validateChildSpec, type AnyChildSpec, type ChildKind, type RestartType, type Shutdown } from './ChildSpec.ts'
import { ChildStartError, InvalidChildSpecError, SupervisorGaveUpError } from './errors.ts'
import { RestartIntensity } from './RestartIntensity.ts'
import { SupervisorEventTopic, type SupervisorEvent } from './SupervisorEvents.ts'

/** OTP strategies: which children restart when one fails. */
export type Strategy =
  /** Only the failed child. */
  | 'one_for_one'
  /** Every child: stopped in reverse start order, then started in order. */
  | 'one_for_all'
  /** The failed child and those started after it. */
  | 'rest_for_one'

/** OTP auto shutdown: whether the exit of significant children ends the supervisor. */
export type AutoShutdown = 'never' | 'any_significant' | 'all_significant'

export interface SupervisorOptions {
  readonly strategy?: Strategy
  /** Most restarts within `periodMs` before the supervisor gives up. Default 1 (OTP). */
  readonly intensity?: number
  /** Default 5000 ms (OTP). */
  readonly periodMs?: number
  readonly autoShutdown?: AutoShutdown
}

/** A child as `whichChildren` reports it. */
export interface ChildInfo {
  readonly id: string
  /** Null while the child is not running (terminated, or waiting to be started again). */
  readonly ref: ActorRef<any> | null
  /** `restarting` covers a backoff wait: messages to the ref wait in its mailbox (bounded by it). */
  readonly status: 'starting' | 'running' | 'restarting' | 'terminated'
  readonly kind: ChildKind
  readonly restart: RestartType
  readonly significant: boolean
  readonly restarts: number
}

/** OTP's `count_children`. */
export interface ChildCounts {
  readonly specs: number
  readonly active: number
  readonly supervisors: number
  readonly workers: number
}

/** @internal The supervisor's record of one child. */
export interface ChildState {
  readonly spec: AnyChildSpec
  ref: ActorRef<any> | null
  status: ChildInfo['status']
  restarts: number
  /** Bumped at every (re)start: a restart decided for an older incarnation is dropped. */
  generation: number
  /** Set while the supervisor itself is stopping or restarting the child, so its exit is not a surprise. */
  expectingExit: boolean
  backoffAttempt: number
  backoffTimer: TimerHandle | null
  startedAt: number
  /** A failure that arrived while the child was being (re)started; handled once the start completes. */
  pendingFailure: Error | null
  /** An exit absorbed by a queued group restart; decided again if it happened after that restart reached the child. */
  coveredExit: { readonly reason: ExitReason; readonly error: Error | null } | null
}

const DEFAULT_WORKER_SHUTDOWN_MS = 5000

/**
 * The machinery shared by Supervisor and DynamicSupervisor: starting children in order, deciding on
 * failures and exits (restart types, strategies, restart intensity, backoff), ordered shutdown with
 * timeouts, and auto shutdown. Children are restarted in place when they are alive (same ref, fresh
 * instance; see docs/supervision.md) and started anew when they have stopped.
 *
 * Concurrency: hooks run in the actor's turn and only record and enqueue; every operation that waits
 * (starting, stopping, restarting children) runs in one serial queue, so two never interleave.
 */
export abstract class SupervisorBase<P> extends Actor<P> {
  protected readonly strategy: Strategy
  protected readonly autoShutdown: AutoShutdown
  protected readonly restartBudget: RestartIntensity
  protected readonly states: ChildState[] = []
  private queue: Promise<void> = Promise.resolve()
  /** Dynamic supervisors forget children that will not be restarted (OTP simple_one_for_one). */
  protected forgetStoppedChildren = false
  /** Children inside a queued group restart (one_for_all/rest_for_one): it restarts them, at no extra cost. */
  private readonly coveredByPendingRestart = new Map<ChildState, number>()
  private shuttingDown = false
  private gaveUp = false

  constructor(options: SupervisorOptions) {
    super()
    const intensity = options.intensity ?? 1
    const periodMs = options.periodMs ?? 5000
    if (!(intensity >= 0) || !(periodMs > 0)) throw new InvalidChildSpecError('supervisor needs intensity >= 0 and periodMs > 0')
    this.strategy = options.strategy ?? 'one_for_one'
    this.autoShutdown = options.autoShutdown ?? 'never'
    this.restartBudget = new RestartIntensity(intensity, periodMs)
  }

  // ------------------------------------------------------------------ lifecycle

  /** Stop children in reverse start order, each within its shutdown, before the runtime stops the rest. */
  override onStopping(): Promise<void> {
    this.shuttingDown = true
    return this.shutdownChildren()
  }

  /** A restarting supervisor stops its children in order; the new instance starts them from the specs. */
  override preRestart(_error: Error): Promise<void> {
    this.shuttingDown = true
    return this.shutdownChildren()
  }

  override onChildFailure(child: ActorRef<any>, error: Error): Directive | void {
    const state = this.stateOf(child)
    // Not ours any more, or we are already stopping it: nothing to decide.
    if (state === undefined || this.shuttingDown) return
    if (state.status === 'starting') {
      // It failed right after starting, before the start operation finished: decide once it has.
      state.pendingFailure = error
      return
    }
    if (state.expectingExit || state.status !== 'running') return
    let directive: Directive
    try {
      directive = state.spec.decider === undefined ? 'restart' : state.spec.decider(error)
    } catch (thrown) {
      directive = 'escalate'
      error = toError(thrown)
    }
    switch (directive) {
      case 'resume':
        this.publish({ type: 'child-resumed', supervisor: this.self, childId: state.spec.id, error })
        return 'resume'
      case 'escalate':
        this.publish({ type: 'escalated', supervisor: this.self, childId: state.spec.id, error })
        return 'escalate'
      case 'stop':
        this.enqueue(() => this.stopAndForget(state, ExitReasons.failure(error)))
        return
      case 'restart':
        this.childExited(state, ExitReasons.failure(error), error)
        return
    }
  }

  override onChildTerminated(child: ActorRef<any>, reason: ExitReason): void {
    const state = this.stateOf(child)
    if (state === undefined || state.expectingExit) return
    // An exit we did not cause: it stopped itself, took a poison pill, was killed, or followed a link.
    state.ref = null
    if (this.shuttingDown) return
    this.childExited(state, reason, reason.kind === 'failure' ? reason.error : null)
  }

  // ------------------------------------------------------------------ decisions

  /** Applies restart type, restart intensity, backoff and strategy to a child that failed or exited. */
  private childExited(state: ChildState, reason: ExitReason, error: Error | null): void {
    const restartType = state.spec.restart ?? 'permanent'
    const restart = restartType === 'permanent' || (restartType === 'transient' && !isNormalExit(reason))
    if (!restart) {
      this.enqueue(() => this.stopAndForget(state, reason))
      return
    }
    if (this.coveredByPendingRestart.has(state)) {
      // OTP flushes a sibling's exit during a group restart: the queued restart covers it.
      state.status = 'restarting'
      state.coveredExit = { reason, error }
      return
    }
    if (!this.restartBudget.record(this.context.system.clock.now())) {
      this.enqueue(() => this.giveUp(state, error))
      return
    }
    const generation = state.generation
    state.status = 'restarting'
    const covered = this.strategy === 'one_for_one' ? [] : this.scopeOf(state)
    for (const member of covered) this.coveredByPendingRestart.set(member, (this.coveredByPendingRestart.get(member) ?? 0) + 1)
    const restartLater = async (): Promise<void> => {
      try {
        await this.restartScope(state, generation, reason)
      } finally {
        for (const member of covered) {
          const count = (this.coveredByPendingRestart.get(member) ?? 1) - 1
          if (count <= 0) this.coveredByPendingRestart.delete(member)
          else this.coveredByPendingRestart.set(member, count)
        }
        // A member that failed again after this restart had already restarted it: decide now.
        for (const member of covered) {
          const exit = member.coveredExit
          if (exit === null || this.coveredByPendingRestart.has(member) || !this.states.includes(member)) continue
          member.coveredExit = null
          member.status = 'running'
          this.childExited(member, exit.reason, exit.error)
        }
      }
    }
    const backoff = state.spec.backoff
    if (backoff === undefined) {
      this.enqueue(restartLater)
      return
    }
    const clock = this.context.system.clock
    const resetAfter = backoff.resetAfterMs ?? backoff.maxMs
    if (clock.now() - state.startedAt >= resetAfter) state.backoffAttempt = 0
    const attempt = state.backoffAttempt++
    const delayMs = backoffDelay(backoff, attempt, this.context.system.random)
    this.publish({ type: 'restart-scheduled', supervisor: this.self, childId: state.spec.id, delayMs, attempt })
    state.backoffTimer = clock.setTimer(delayMs, () => {
      state.backoffTimer = null
      this.enqueue(restartLater)
    })
  }

  /** The children a failure of `failed` restarts, in start order. */
  private scopeOf(failed: ChildState): ChildState[] {
    if (this.strategy === 'one_for_one') return [failed]
    if (this.strategy === 'one_for_all') return [...this.states]
    const index = this.states.indexOf(failed)
    return index < 0 ? [failed] : this.states.slice(index)
  }

  /**
   * OTP restart: stop the scope in reverse start order, then start it in order. Living children are
   * restarted in place (phase one held until every sibling has stopped); stopped ones start anew.
   */
  private async restartScope(failed: ChildState, generation: number, reason: ExitReason): Promise<void> {
    if (this.shuttingDown || this.gaveUp || failed.generation !== generation || !this.states.includes(failed)) return
    const scope = this.scopeOf(failed)
    const toStart: ChildState[] = []
    for (let i = scope.length - 1; i >= 0; i--) {
      const state = scope[i] as ChildState
      if (state !== failed && state.status === 'terminated') continue
      if (state !== failed && (state.spec.restart ?? 'permanent') === 'temporary') {
        // OTP: a temporary sibling is not restarted with the others; it is stopped and forgotten.
        await this.stopAndForget(state, ExitReasons.shutdown)
        continue
      }
      // From here this restart handles the child: an earlier absorbed exit is part of it.
      state.coveredExit = null
      if (state.ref !== null) await this.prepareRestart(state, state === failed ? reason : ExitReasons.shutdown)
      toStart.unshift(state)
    }
    for (const state of toStart) {
      if (this.shuttingDown || this.gaveUp) return
      await this.startAgain(state, state === failed ? reason : ExitReasons.shutdown)
    }
  }

  /** Phase one of an in-place restart, bounded by the child's shutdown; past it the child is killed. */
  private async prepareRestart(state: ChildState, reason: ExitReason): Promise<void> {
    const ref = state.ref as ActorRef<any>
    state.status = 'restarting'
    state.expectingExit = true
    const cause = reason.kind === 'failure' ? reason.error : new Error(`restarting with sibling (${this.strategy})`)
    const shutdown = this.shutdownOf(state.spec)
    const prepared = this.context.restartChild(ref, cause, { hold: true }).then(
      () => true,
      () => false,
    )
    let ok: boolean
    if (shutdown === 'brutal') ok = false
    else if (shutdown === 'infinity') ok = await prepared
    else ok = await this.within(prepared, shutdown)
    if (!ok) {
      await this.context.stopChild(ref, 'brutal').catch(() => undefined)
      state.ref = null
    }
  }

  private async startAgain(state: ChildState, reason: ExitReason): Promise<void> {
    state.restarts++
    const cause = reason.kind === 'failure' ? reason.error : null
    try {
      if (state.ref !== null) {
        const ref = state.ref
        state.generation++
        state.status = 'starting'
        await this.context.completeRestart(ref)
        state.status = 'running'
        state.expectingExit = false
        state.startedAt = this.context.system.clock.now()
        this.publish({ type: 'child-restarted', supervisor: this.self, childId: state.spec.id, child: ref, reason: cause ?? reason })
        this.handlePendingFailure(state)
      } else {
        const fresh = await this.startChildState(state)
        this.publish({ type: 'child-restarted', supervisor: this.self, childId: state.spec.id, child: fresh, reason: cause ?? reason })
      }
    } catch (thrown) {
      // The restart itself failed: that is one more exit, counted against the budget like any other.
      const error = toError(thrown)
      // The start failure itself may also have arrived as a child failure: it is this one.
      state.pendingFailure = null
      this.publish({ type: 'start-failed', supervisor: this.self, childId: state.spec.id, error })
      if (state.ref !== null) {
        state.expectingExit = true
        await this.context.stopChild(state.ref, 'brutal').catch(() => undefined)
        state.ref = null
      }
      state.status = 'running'
      state.expectingExit = false
      this.childExited(state, ExitReasons.failure(error), error)
    }
  }

  /** Stops a child that will not be restarted; a temporary child's spec is removed (OTP). */
  private async stopAndForget(state: ChildState, reason: ExitReason): Promise<void> {
    // Queued behind a give-up or a stop: shutdownChildren covers this child, and no decision follows gave-up.
    if (this.gaveUp || this.shuttingDown) return
    if (state.ref !== null) await this.stopState(state, reason)
    state.status = 'terminated'
    state.ref = null
    this.cancelBackoff(state)
    this.publish({ type: 'child-stopped', supervisor: this.self, childId: state.spec.id, reason })
    if ((state.spec.restart ?? 'permanent') === 'temporary' || this.forgetStoppedChildren) this.removeState(state)
    if (state.spec.significant === true) this.checkAutoShutdown(state)
  }

  private checkAutoShutdown(state: ChildState): void {
    if (this.autoShutdown === 'never' || this.shuttingDown) return
    const significantAlive = this.states.some((s) => s.spec.significant === true && s.status !== 'terminated')
    if (this.autoShutdown === 'any_significant' || !significantAlive) {
      this.publish({ type: 'auto-shutdown', supervisor: this.self, childId: state.spec.id })
      this.context.stop()
    }
  }

  private async giveUp(state: ChildState, error: Error | null): Promise<void> {
    if (this.gaveUp || this.shuttingDown) return
    this.gaveUp = true
    const { intensity, periodMs } = this.restartBudget
    this.publish({ type: 'gave-up', supervisor: this.self, childId: state.spec.id, restarts: intensity, periodMs })
    this.shuttingDown = true
    await this.shutdownChildren()
    const message = `supervisor ${this.context.path} gave up: more than ${intensity} restart(s) in ${periodMs} ms (last failing child '${state.spec.id}')`
    const data = { childId: state.spec.id, intensity, periodMs }
    this.context.fail(new SupervisorGaveUpError(message, error === null ? { data } : { cause: error, data }))
  }

  // ------------------------------------------------------------------ starting and stopping

  /** Starts the initial children in order; if one fails, stops the started ones in reverse and fails. */
  protected async startInitialChildren(specs: readonly AnyChildSpec[]): Promise<void> {
    for (const spec of specs) {
      validateChildSpec(spec)
      if (this.states.some((s) => s.spec.id === spec.id)) throw new InvalidChildSpecError(`duplicate child id '${spec.id}'`)
      this.states.push(newState(spec))
    }
    for (const state of this.states) {
      try {
        await this.startChildState(state)
      } catch (error) {
        this.publish({ type: 'start-failed', supervisor: this.self, childId: state.spec.id, error: toError(error) })
        this.shuttingDown = true
        await this.shutdownChildren()
        throw new ChildStartError(`child '${state.spec.id}' of ${this.context.path} failed to start`, { cause: error, data: { childId: state.spec.id } })
      }
    }
  }

  /** Spawns the child of `state` and waits for its preStart; on failure the half-started child is removed. */
  protected async startChildState(state: ChildState): Promise<ActorRef<any>> {
    const spec = state.spec
    state.status = 'starting'
    state.expectingExit = false
    state.generation++
    let ref: ActorRef<any> | null = null
    try {
      const options = { ...spec.spawn, name: spec.id, args: spec.args ?? [] }
      const started = (this.context.spawnAndWait as (cls: unknown, options: unknown) => Promise<ActorRef<any>>)(spec.actor, options)
      ref = this.context.child(spec.id) ?? null
      await started
    } catch (error) {
      if (ref !== null) {
        state.expectingExit = true
        await this.context.stopChild(ref, 'brutal').catch(() => undefined)
      }
      state.ref = null
      state.status = 'terminated'
      state.pendingFailure = null
      throw error
    }
    state.ref = ref
    state.status = 'running'
    state.startedAt = this.context.system.clock.now()
    this.publish({ type: 'child-started', supervisor: this.self, childId: spec.id, child: ref as ActorRef<any> })
    this.handlePendingFailure(state)
    return ref as ActorRef<any>
  }

  /** Decides on a failure that arrived while the child's start was still completing. */
  private handlePendingFailure(state: ChildState): void {
    const error = state.pendingFailure
    if (error === null) return
    state.pendingFailure = null
    const directive = this.onChildFailure(state.ref as ActorRef<any>, error)
    // A directive the core would apply to a failure in flight: apply it here ourselves.
    if (directive === 'resume') this.context.resumeChild(state.ref as ActorRef<any>)
    else if (directive === 'escalate') this.context.escalateChild(state.ref as ActorRef<any>, error)
  }

  /** Stops every child in reverse start order, each within its shutdown. */
  protected async shutdownChildren(): Promise<void> {
    for (let i = this.states.length - 1; i >= 0; i--) {
      const state = this.states[i] as ChildState
      this.cancelBackoff(state)
      if (state.ref !== null) await this.stopState(state, ExitReasons.shutdown)
      state.status = 'terminated'
    }
  }

  protected async stopState(state: ChildState, reason: ExitReason): Promise<void> {
    const ref = state.ref
    if (ref === null) return
    state.expectingExit = true
    await this.context.stopChild(ref, this.shutdownOf(state.spec), reason).catch(() => undefined)
    state.ref = null
  }

  protected shutdownOf(spec: AnyChildSpec): Shutdown {
    if (spec.shutdown !== undefined) return spec.shutdown
    return kindOf(spec) === 'supervisor' ? 'infinity' : DEFAULT_WORKER_SHUTDOWN_MS
  }

  // ------------------------------------------------------------------ helpers

  /** Runs `operation` after every operation queued before it; returns its completion. */
  protected enqueue<T>(operation: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(operation)
    // The queue continues whatever the outcome; callers see the outcome through `run`.
    this.queue = run.then(
      () => undefined,
      () => undefined,
    )
    return run
  }

  protected stateOf(ref: ActorRef<any>): ChildState | undefined {
    return this.states.find((s) => s.ref !== null && s.ref.equals(ref))
  }

  protected stateById(id: string): ChildState | undefined {
    return this.states.find((s) => s.spec.id === id)
  }

  protected removeState(state: ChildState): void {
    const index = this.states.indexOf(state)
    if (index >= 0) this.states.splice(index, 1)
  }

  protected infoOf(state: ChildState): ChildInfo {
    return {
      id: state.spec.id,
      ref: state.ref,
      status: state.status,
      kind: kindOf(state.spec),
      restart: state.spec.restart ?? 'permanent',
      significant: state.spec.significant === true,
      restarts: state.restarts,
    }
  }

  protected counts(): ChildCounts {
    let active = 0
    let supervisors = 0
    let workers = 0
    for (const state of this.states) {
      if (state.ref !== null && state.status !== 'terminated') active++
      if (kindOf(state.spec) === 'supervisor') supervisors++
      else workers++
    }
    return { specs: this.states.length, active, supervisors, workers }
  }

  protected cancelBackoff(state: ChildState): void {
    if (state.backoffTimer !== null) {
      this.context.system.clock.clearTimer(state.backoffTimer)
      state.backoffTimer = null
    }
  }

  protected publish(event: SupervisorEvent): void {
    this.context.system.publish(SupervisorEventTopic, event)
  }

  /** Resolves with `promise`'s value, or false if `ms` pass first (on the injected clock). */
  private within(promise: Promise<boolean>, ms: number): Promise<boolean> {
    const clock = this.context.system.clock
    return new Promise<boolean>((resolve) => {
      const timer = clock.setTimer(ms, () => resolve(false))
      void promise.then((value) => {
        clock.clearTimer(timer)
        resolve(value)
      })
    })
  }
}

export function newState(spec: AnyChildSpec): ChildState {
  return {
    spec,
    ref: null,
    status: 'terminated',
    restarts: 0,
    generation: 0,
    expectingExit: false,
    backoffAttempt: 0,
    backoffTimer: null,
    startedAt: 0,
    pendingFailure: null,
    coveredExit: null,
  }
}

export function kindOf(spec: AnyChildSpec): ChildKind {
  if (spec.kind !== undefined) return spec.kind
  return spec.actor.prototype instanceof SupervisorBase ? 'supervisor' : 'worker'
}
