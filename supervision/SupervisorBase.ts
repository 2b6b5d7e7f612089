import { ExitReasons, isNormalExit, toError, type ActorRef, type Directive, type ExitReason } from '../runtime/index.ts'
import { backoffDelay, backoffResetAfter } from './Backoff.ts'
import { ChildRunner } from './ChildRunner.ts'
import type { ChildState } from './ChildTable.ts'
import { SupervisorGaveUpError } from './errors.ts'
import { RestartIntensity } from './RestartIntensity.ts'
import type { AutoShutdown, Strategy, SupervisorOptions } from './SupervisorConfig.ts'

/**
 * The decisions shared by Supervisor and DynamicSupervisor: restart types, strategies, restart
 * intensity, backoff, auto shutdown and giving up. Children are restarted in place when they are
 * alive (same ref, fresh instance; see docs/supervision.md) and started anew when they have stopped.
 *
 * Concurrency: hooks run in the actor's turn and only record and enqueue; every operation that waits
 * (starting, stopping, restarting children) runs in one serial queue, so two never interleave.
 * Options are validated by the subclass (one error listing every problem) before they get here.
 */
export abstract class SupervisorBase<P> extends ChildRunner<P> {
  protected readonly strategy: Strategy
  protected readonly autoShutdown: AutoShutdown
  protected readonly restartBudget: RestartIntensity
  /** Dynamic supervisors forget children that will not be restarted (OTP simple_one_for_one). */
  protected forgetStoppedChildren = false
  /** Children inside a queued group restart (one_for_all/rest_for_one): it restarts them, at no extra cost. */
  private readonly coveredByPendingRestart = new Map<ChildState, number>()

  constructor(options: SupervisorOptions) {
    super()
    this.strategy = options.strategy ?? 'one_for_one'
    this.autoShutdown = options.autoShutdown ?? 'never'
    this.restartBudget = new RestartIntensity(options.intensity ?? 1, options.periodMs ?? 5000)
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
    const state = this.children.liveOf(child)
    // Not ours any more, or we are already stopping it: nothing to decide.
    if (state === undefined || this.shuttingDown) return
    if (state.inStart) {
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
        // OTP: a supervisor that gives up exits with `shutdown`, a normal exit for its restart type.
        this.childExited(state, error instanceof SupervisorGaveUpError ? ExitReasons.shutdown : ExitReasons.failure(error), error)
        return
    }
  }

  override onChildTerminated(child: ActorRef<any>, reason: ExitReason): void {
    const state = this.children.liveOf(child)
    // Expected (we stopped it), or during its start (the start operation reports the outcome).
    if (state === undefined || state.expectingExit || state.inStart) return
    // An exit we did not cause: it stopped itself, took a poison pill, was killed, or followed a link.
    // The table still finds it by this ref while it restarts (terminateChild by ref must work).
    state.ref = null
    state.held = false
    if (this.shuttingDown) return
    this.childExited(state, reason, reason.kind === 'failure' ? reason.error : null)
  }

  /** Decides on a failure that arrived while the child's start was still completing. */
  protected override onStarted(state: ChildState): void {
    const error = state.pendingFailure
    if (error === null) return
    state.pendingFailure = null
    const ref = state.ref as ActorRef<any>
    const directive = this.onChildFailure(ref, error)
    // A directive the core would apply to a failure in flight: apply it here ourselves.
    if (directive === 'resume') this.context.resumeChild(ref)
    else if (directive === 'escalate') this.context.escalateChild(ref, error)
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
        await this.restartScope(state, generation, reason, error)
      } finally {
        for (const member of covered) {
          const count = (this.coveredByPendingRestart.get(member) ?? 1) - 1
          if (count <= 0) this.coveredByPendingRestart.delete(member)
          else this.coveredByPendingRestart.set(member, count)
        }
        // A member that failed again after this restart had already restarted it: decide now.
        for (const member of covered) {
          const exit = member.coveredExit
          if (exit === null || this.coveredByPendingRestart.has(member) || !this.children.has(member) || member.status === 'terminated') continue
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
    if (clock.now() - state.startedAt >= backoffResetAfter(backoff)) state.backoffAttempt = 0
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
    if (this.strategy === 'one_for_all') return this.children.toArray()
    return this.children.from(failed)
  }

  /**
   * OTP restart: stop the scope in reverse start order, then start it in order. Living children are
   * restarted in place (phase one held until every sibling has stopped); stopped ones start anew.
   * If one fails to start, the ones after it stay held until it comes back (OTP's try_again).
   */
  private async restartScope(failed: ChildState, generation: number, reason: ExitReason, error: Error | null): Promise<void> {
    if (this.shuttingDown || this.gaveUp || failed.generation !== generation || !this.children.has(failed)) return
    const scope = this.scopeOf(failed)
    const toStart: ChildState[] = []
    for (let i = scope.length - 1; i >= 0; i--) {
      const state = scope[i] as ChildState
      if (state !== failed && state.status === 'terminated') continue
      if (state !== failed && (state.spec.restart ?? 'permanent') === 'temporary') {
        // OTP: a temporary sibling is not restarted with the others; it is stopped and forgotten,
        // and being stopped by us, it does not count for auto shutdown.
        await this.stopAndForget(state, ExitReasons.shutdown, true)
        continue
      }
      // From here this restart handles the child: an earlier absorbed exit is part of it.
      state.coveredExit = null
      if (state.ref !== null && !state.held) await this.prepareRestart(state, state === failed ? error : null)
      toStart.unshift(state)
    }
    failed.waiting = []
    for (let k = 0; k < toStart.length; k++) {
      if (this.shuttingDown || this.gaveUp) return
      const state = toStart[k] as ChildState
      if (!(await this.startAgain(state, state === failed ? (error ?? reason) : ExitReasons.shutdown))) {
        state.waiting = toStart.slice(k + 1)
        for (const waiting of state.waiting) waiting.status = 'restarting'
        return
      }
    }
  }

  /** Phase one of an in-place restart, bounded by the child's shutdown; past it the child is killed. */
  private async prepareRestart(state: ChildState, error: Error | null): Promise<void> {
    const ref = state.ref as ActorRef<any>
    state.status = 'restarting'
    state.expectingExit = true
    const cause = error ?? new Error(`restarting with sibling (${this.strategy})`)
    const shutdown = this.shutdownOf(state)
    const keepChildren = state.spec.stopChildren === false
    const prepared = this.context.restartChild(ref, cause, { hold: true, keepChildren }).then(
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
      return
    }
    state.held = true
  }

  /** Phase two for a held child, or a new incarnation for a stopped one. False when the start failed. */
  private async startAgain(state: ChildState, cause: Error | ExitReason): Promise<boolean> {
    state.restarts++
    try {
      if (state.ref !== null) {
        const ref = state.ref
        state.generation++
        state.status = 'restarting'
        state.inStart = true
        await this.context.completeRestart(ref)
        state.inStart = false
        state.held = false
        state.status = 'running'
        state.expectingExit = false
        state.startedAt = this.context.system.clock.now()
        this.publish({ type: 'child-restarted', supervisor: this.self, childId: state.spec.id, child: ref, reason: cause })
        this.onStarted(state)
        return true
      }
      const started = await this.startChildState(state, true)
      if (started.ref === null) {
        // OTP: a dynamic child whose restart returns ignore is removed; a static one stays, not running.
        if (this.forgetStoppedChildren) this.children.remove(state)
        return true
      }
      this.publish({ type: 'child-restarted', supervisor: this.self, childId: state.spec.id, child: started.ref, reason: cause })
      return true
    } catch (thrown) {
      // The restart itself failed: that is one more exit, counted against the budget like any other.
      const error = toError(thrown)
      state.inStart = false
      state.held = false
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
      return false
    }
  }

  /**
   * `terminateChild`: ends whatever the child is doing (running, a backoff wait, a failing restart
   * loop) and any queued restart of it; siblings held for its restart are stopped with it.
   */
  protected async terminateState(state: ChildState): Promise<void> {
    this.cancelBackoff(state)
    state.generation++
    state.coveredExit = null
    const waiting = state.waiting
    state.waiting = []
    if (state.ref !== null) await this.stopState(state, ExitReasons.shutdown)
    state.held = false
    state.status = 'terminated'
    for (const sibling of waiting) if (sibling.status === 'restarting' && this.children.has(sibling)) await this.terminateState(sibling)
  }

  /** Stops a child that will not be restarted; a temporary child's spec is removed (OTP). */
  private async stopAndForget(state: ChildState, reason: ExitReason, bySupervisor = false): Promise<void> {
    // Queued behind a give-up or a stop: shutdownChildren covers this child, and no decision follows gave-up.
    if (this.gaveUp || this.shuttingDown || !this.children.has(state)) return
    if (state.ref !== null) await this.stopState(state, reason)
    state.status = 'terminated'
    state.ref = null
    this.cancelBackoff(state)
    this.publish({ type: 'child-stopped', supervisor: this.self, childId: state.spec.id, reason })
    if ((state.spec.restart ?? 'permanent') === 'temporary' || this.forgetStoppedChildren) this.children.remove(state)
    if (state.spec.significant === true && !bySupervisor) this.checkAutoShutdown(state)
  }

  private checkAutoShutdown(state: ChildState): void {
    if (this.autoShutdown === 'never' || this.shuttingDown) return
    let significantAlive = false
    for (const s of this.children.values()) if (s.spec.significant === true && s.status !== 'terminated') significantAlive = true
    if (this.autoShutdown === 'any_significant' || !significantAlive) {
      this.publish({ type: 'auto-shutdown', supervisor: this.self, childId: state.spec.id })
      this.context.stop()
    }
  }

  private async giveUp(state: ChildState, error: Error | null): Promise<void> {
    if (this.gaveUp || this.shuttingDown) return
    this.gaveUp = true
    const { intensity, periodMs } = this.restartBudget
    this.publish({ type: 'gave-up', supervisor: this.self, childId: state.spec.id, restarts: intensity as number, periodMs })
    this.shuttingDown = true
    await this.shutdownChildren()
    const message = `supervisor ${this.context.path} gave up: more than ${intensity} restart(s) in ${periodMs} ms (last failing child '${state.spec.id}')`
    const data = { childId: state.spec.id, intensity, periodMs }
    this.context.fail(new SupervisorGaveUpError(message, error === null ? { data } : { cause: error, data }))
  }
}
