import { Actor, ActorRef, ExitReasons, type ExitReason } from '../runtime/index.ts'
import type { AnyChildSpec, ChildKind, ChildSpawner, Shutdown } from './ChildSpec.ts'
import { ChildTable, type ChildCounts, type ChildInfo, type ChildState } from './ChildTable.ts'
import { SupervisorEventTopic, type SupervisorEvent } from './SupervisorEvents.ts'

/** What starting a child gives back: its ref (null when its start returned `'ignore'`) and any extra info. */
export interface StartChildResult {
  readonly ref: ActorRef<any> | null
  /** The extra value a start function returned with the ref (OTP's `{ok, Child, Info}`). */
  readonly info?: unknown
}

const DEFAULT_WORKER_SHUTDOWN_MS = 5000

/**
 * How a supervisor starts and stops its children: spawning from a class or a start function
 * (`'ignore'`, extra info), waiting for preStart, ordered and timed shutdown, and the serial queue
 * every waiting operation runs in. Decisions (what to do when a child fails) are SupervisorBase's.
 */
export abstract class ChildRunner<P> extends Actor<P> {
  protected readonly children = new ChildTable()
  private queue: Promise<void> = Promise.resolve()
  protected shuttingDown = false
  protected gaveUp = false

  /** Called once a child has started (first start or new incarnation), after `child-started`. */
  protected abstract onStarted(state: ChildState): void

  /** Spawns the child of `state` and waits for its preStart; on failure the half-started child is removed. */
  protected async startChildState(state: ChildState, restarting = false): Promise<StartChildResult> {
    const spec = state.spec
    state.status = restarting ? 'restarting' : 'starting'
    state.expectingExit = false
    state.inStart = true
    state.generation++
    state.startingRef = null
    let ref: ActorRef<any> | null = null
    let info: unknown
    try {
      if (spec.start !== undefined) {
        const result = await spec.start(this.spawnerFor(state))
        if (result !== 'ignore') {
          ref = result instanceof ActorRef ? result : result.ref
          if (!(result instanceof ActorRef)) info = result.info
          if (state.startingRef === null || !ref.equals(state.startingRef)) {
            throw new Error(`the start function of child '${spec.id}' must return the child it spawned with the spawn function it was given`)
          }
        } else if (state.startingRef !== null) {
          // It spawned something and then chose to ignore: that actor is not ours to keep.
          await this.killStarting(state)
        }
      } else {
        const options: Record<string, unknown> = { ...spec.spawn, name: spec.id, args: spec.args ?? [] }
        const started = (this.context.spawnAndWait as (cls: unknown, options: unknown) => Promise<ActorRef<any>>)(spec.actor, options)
        this.noteStarting(state, this.context.child(spec.id) ?? null)
        await started
        ref = state.startingRef
        // The cell keeps its options for in-place restarts, which a temporary child never gets:
        // OTP does not keep a temporary child's start arguments, and neither do we.
        if ((spec.restart ?? 'permanent') === 'temporary') delete options['args']
      }
    } catch (error) {
      await this.killStarting(state)
      state.inStart = false
      state.ref = null
      state.status = 'terminated'
      state.pendingFailure = null
      throw error
    }
    state.startingRef = null
    state.inStart = false
    if ((spec.restart ?? 'permanent') === 'temporary') {
      // Never restarted, so nothing to start it from again: drop what holds its arguments.
      const { args: _args, start: _start, ...rest } = spec
      state.spec = rest
    }
    if (ref === null) {
      state.ref = null
      state.status = 'terminated'
      state.pendingFailure = null
      this.publish({ type: 'start-ignored', supervisor: this.self, childId: spec.id })
      return { ref: null }
    }
    this.children.setRef(state, ref)
    state.status = 'running'
    state.startedAt = this.context.system.clock.now()
    this.publish({ type: 'child-started', supervisor: this.self, childId: spec.id, child: ref })
    this.onStarted(state)
    return info === undefined ? { ref } : { ref, info }
  }

  /** The spawn function a start function gets: one child, named after the id, under this supervisor. */
  private spawnerFor(state: ChildState): ChildSpawner {
    const spawner = (actorClass: unknown, options?: object): Promise<ActorRef<any>> => {
      if (state.startingRef !== null) return Promise.reject(new Error(`the start function of child '${state.spec.id}' spawned more than one actor`))
      const started = (this.context.spawnAndWait as (cls: unknown, options: unknown) => Promise<ActorRef<any>>)(actorClass, { ...options, name: state.spec.id })
      this.noteStarting(state, this.context.child(state.spec.id) ?? null)
      return started
    }
    return spawner as ChildSpawner
  }

  private noteStarting(state: ChildState, ref: ActorRef<any> | null): void {
    state.startingRef = ref
    if (ref !== null) this.children.indexStarting(state, ref)
  }

  private async killStarting(state: ChildState): Promise<void> {
    const half = state.startingRef
    state.startingRef = null
    this.children.unindexStarting(state)
    if (half === null) return
    state.expectingExit = true
    await this.context.stopChild(half, 'brutal').catch(() => undefined)
  }

  /** Stops every child in reverse start order, each within its shutdown (OTP). */
  protected async shutdownChildren(): Promise<void> {
    const states = this.children.toArray()
    for (let i = states.length - 1; i >= 0; i--) await this.shutdownOne(states[i] as ChildState)
  }

  protected async shutdownOne(state: ChildState): Promise<void> {
    this.cancelBackoff(state)
    if (state.ref !== null) await this.stopState(state, ExitReasons.shutdown)
    else if (state.startingRef !== null) {
      // Still in its start (a slow preStart): stop it within its shutdown too, so our own stop completes.
      const starting = state.startingRef
      state.expectingExit = true
      await this.context.stopChild(starting, this.shutdownOf(state), ExitReasons.shutdown).catch(() => undefined)
    }
    state.held = false
    state.status = 'terminated'
  }

  protected async stopState(state: ChildState, reason: ExitReason): Promise<void> {
    const ref = state.ref
    if (ref === null) return
    state.expectingExit = true
    await this.context.stopChild(ref, this.shutdownOf(state), reason).catch(() => undefined)
    state.ref = null
    state.held = false
  }

  protected shutdownOf(state: ChildState): Shutdown {
    if (state.spec.shutdown !== undefined) return state.spec.shutdown
    return state.kind === 'supervisor' ? 'infinity' : DEFAULT_WORKER_SHUTDOWN_MS
  }

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

  protected infoOf(state: ChildState): ChildInfo {
    return {
      id: state.spec.id,
      ref: state.status === 'terminated' ? null : state.ref,
      status: state.status,
      kind: state.kind,
      restart: state.spec.restart ?? 'permanent',
      significant: state.spec.significant === true,
      restarts: state.restarts,
    }
  }

  protected counts(): ChildCounts {
    let active = 0
    let supervisors = 0
    let workers = 0
    for (const state of this.children.values()) {
      if (state.ref !== null && state.status !== 'terminated') active++
      if (state.kind === 'supervisor') supervisors++
      else workers++
    }
    return { specs: this.children.size, active, supervisors, workers }
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
  protected within(promise: Promise<boolean>, ms: number): Promise<boolean> {
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

export function kindOf(spec: AnyChildSpec): ChildKind {
  if (spec.kind !== undefined) return spec.kind
  return spec.actor !== undefined && spec.actor.prototype instanceof ChildRunner ? 'supervisor' : 'worker'
}
