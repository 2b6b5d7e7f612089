import { toError, type Runnable } from '../runtime/index.ts'
import { SimEvent } from './EventQueue.ts'
import { SimCrashedError, SimEscapeError } from './errors.ts'
import { describeEvent, nameOf, SELF_TRACED } from './simNames.ts'
import type { SimProcess } from './SimProcess.ts'
import type { SimulationStats } from './SimulationOptions.ts'
import { SimState } from './SimState.ts'
import { TraceKind, type TraceEvent } from './Trace.ts'

/**
 * The simulation's machinery: what its processes, clocks, schedulers and network call (the run
 * queue, events, deferred callbacks), process lifecycle (pause, resume, crash), how one step runs
 * (a turn, an event), and what a test can observe. `Simulation` adds the driver API on top.
 */
export class SimKernel extends SimState {
  // ------------------------------------------------------------------ observation

  /** Virtual time in ms. */
  get now(): number {
    return this.time
  }

  /** Steps taken so far (actor turns plus events). */
  get steps(): number {
    return this.step
  }

  /** The determinism fingerprint: equal for equal runs, in any process. */
  get traceHash(): string {
    return this.trace.hash
  }

  /** Events recorded so far (turns, messages handled, timers, frames, faults). */
  get eventCount(): number {
    return this.trace.count
  }

  /** The last `n` events, oldest first. */
  lastEvents(n = this.reportEvents): TraceEvent[] {
    return this.trace.last(n)
  }

  /** Every event, when created with `keepFullTrace`; otherwise null. */
  get fullTrace(): readonly TraceEvent[] | null {
    return this.trace.full
  }

  get stats(): SimulationStats {
    return { steps: this.step, deliveries: this.deliveries, turns: this.turns, eventsFired: this.eventsFired, zombies: this.zombies }
  }

  /** Actors ready to run at this instant. */
  get runnable(): number {
    return this.taskCount
  }

  /** Timers, frames and scheduled callbacks still to come (background ticks excluded). */
  get pendingEvents(): number {
    return this.events.foreground
  }

  /** The error that stopped the simulation, if one did. */
  get failure(): Error | null {
    return this.failureError
  }

  // ------------------------------------------------------------------ what processes call (internal)

  /** @internal */
  enqueueTask(task: Runnable, process: SimProcess): void {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label}:${nameOf(task)} was woken`)
    if (process.state !== 'running') {
      if (process.state === 'paused') process.heldTasks.push(task)
      else {
        this.zombies++
        this.trace.record(this.step, this.time, TraceKind.Zombie, process.index + 1, process.label, task, 0)
      }
      return
    }
    const n = this.taskCount
    this.tasks[n] = task
    this.owners[n] = process
    this.taskCount = n + 1
  }

  /** @internal */
  deferCallback(callback: () => void, process: SimProcess): void {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label} deferred work`)
    if (process.state === 'crashed') return
    this.deferred.push(callback)
    this.deferredOwners.push(process)
  }

  /**
   * @internal A process's timer due at virtual time `at`. Timers of one process due at the same
   * instant fire in creation order (as on a real event loop); across processes the order is seeded.
   */
  setTimer(process: SimProcess, at: number, callback: () => void): SimEvent {
    this.activity++
    if (this.inHostTurn) this.escapedFromHost(`${process.label} set a timer`)
    const time = at > this.time ? at : this.time
    if (process.state === 'crashed') return new SimEvent(++this.eventSeq, time, 0, noop, process, false, TraceKind.Timer, null)
    return this.scheduleEvent(time, callback, process, false, TraceKind.Timer, process.label, process.timerOrder(time))
  }

  /** @internal Queues an event; the network and failure detectors use it too. */
  scheduleEvent(time: number, fn: () => void, owner: SimProcess | null, background: boolean, kind: number, subject: unknown, order?: number): SimEvent {
    const event = new SimEvent(++this.eventSeq, time, order ?? (this.orderRng.next() * 0x1_0000_0000) >>> 0, fn, owner, background, kind, subject)
    this.events.push(event)
    return event
  }

  /** @internal */
  cancelEvent(event: SimEvent): void {
    this.events.cancel(event)
  }

  /** @internal Records a trace event on behalf of a component (the network). */
  record(kind: TraceKind, process: SimProcess | null, subject: unknown, value: number): void {
    this.trace.record(this.step, this.time, kind, process === null ? 0 : process.index + 1, process === null ? null : process.label, subject, value)
  }

  /** @internal Mixes bytes into the fingerprint (frame contents). */
  mixBytes(bytes: Uint8Array): void {
    this.trace.mixBytes(bytes)
  }

  /** @internal Something outside a step touched the simulation during a host turn. */
  escapedFromHost(what: string): void {
    if (!this.inHostTurn) return
    this.failWith(
      new SimEscapeError(this.report(`${what} while the simulator had handed the event loop to the host: a host timer or real I/O completed during a simulated run`)),
    )
  }

  /** @internal A task whose pending promises are the test's business, not an escape (probes). */
  allowWaiting(task: object): void {
    this.patientTasks.add(task)
  }

  /** @internal The runtime reported that a task started (+1) or stopped (-1) awaiting a promise. */
  noteAwaiting(delta: number): void {
    this.awaitingCount += delta
  }

  /** @internal */
  noteActivity(): void {
    this.activity++
  }

  /** @internal */
  get isHostTurn(): boolean {
    return this.inHostTurn
  }

  // ------------------------------------------------------------------ process lifecycle (internal)

  /** @internal */
  pauseProcess(process: SimProcess): void {
    if (process.state !== 'running') return
    process.state = 'paused'
    this.removeTasksOf(process, process.heldTasks)
    this.record(TraceKind.Fault, process, 'paused', 0)
  }

  /** @internal */
  resumeProcess(process: SimProcess): void {
    if (process.state !== 'paused') return
    process.state = 'running'
    this.record(TraceKind.Fault, process, 'resumed', 0)
    const tasks = process.heldTasks
    const events = process.heldEvents
    const deferred = process.heldDeferred
    process.heldTasks = []
    process.heldEvents = []
    process.heldDeferred = []
    for (const task of tasks) this.enqueueTask(task, process)
    // What waited fires now, in the order it fell due (frames of a FIFO link stay in order).
    for (const event of events) {
      if (event.fn === null) continue
      event.time = this.time
      event.order = this.resumeOrder++
      this.events.push(event)
    }
    for (const callback of deferred) this.deferCallback(callback, process)
  }

  /** @internal */
  crashProcess(process: SimProcess): void {
    if (process.state === 'crashed') return
    process.state = 'crashed'
    this.removeTasksOf(process, null)
    for (const event of this.events.extract((e) => e.owner === process)) event.fn = null
    process.heldTasks = []
    process.heldEvents = []
    process.heldDeferred = []
    for (const count of process.awaiting.values()) this.awaitingCount -= count
    process.awaiting.clear()
    this.record(TraceKind.Fault, process, 'crashed', 0)
    for (const listener of process.crashListeners) listener()
  }

  private removeTasksOf(process: SimProcess, into: Runnable[] | null): void {
    let kept = 0
    for (let i = 0; i < this.taskCount; i++) {
      const task = this.tasks[i] as Runnable
      const owner = this.owners[i] as SimProcess
      if (owner === process) {
        if (into !== null) into.push(task)
        continue
      }
      this.tasks[kept] = task
      this.owners[kept] = owner
      kept++
    }
    for (let i = kept; i < this.taskCount; i++) {
      this.tasks[i] = undefined
      this.owners[i] = undefined
    }
    this.taskCount = kept
  }

  // ------------------------------------------------------------------ steps

  protected runTask(i: number, budget: number): void {
    const tasks = this.tasks
    const owners = this.owners
    const task = tasks[i] as Runnable
    const owner = owners[i] as SimProcess
    const last = --this.taskCount
    tasks[i] = tasks[last]
    owners[i] = owners[last]
    tasks[last] = undefined
    owners[last] = undefined
    this.currentTask = task
    this.lastTask = task
    this.currentProcess = owner
    this.turns++
    this.trace.record(this.step, this.time, TraceKind.Run, owner.index + 1, owner.label, task, budget)
    let more: boolean
    try {
      more = task.run(budget)
    } catch (error) {
      this.currentTask = null
      this.failWith(new SimCrashedError(this.report(`${owner.label}:${nameOf(task)} threw out of its turn: ${toError(error).message}`), { cause: error }))
      return
    }
    this.currentTask = null
    if (more) this.enqueueTask(task, owner)
  }

  protected fire(event: SimEvent): void {
    const owner = event.owner as SimProcess | null
    if (owner !== null && owner.state !== 'running') {
      if (owner.state === 'paused') owner.heldEvents.push(event)
      else event.fn = null
      return
    }
    const fn = event.fn as () => void
    event.fn = null
    this.eventsFired++
    this.currentProcess = owner
    if (event.kind !== SELF_TRACED) this.trace.record(this.step, this.time, event.kind as TraceKind, owner === null ? 0 : owner.index + 1, owner === null ? null : owner.label, event.subject, event.id)
    try {
      fn()
    } catch (error) {
      this.failWith(new SimCrashedError(this.report(`${describeEvent(event.kind as TraceKind, event.subject, event.id)} threw: ${toError(error).message}`), { cause: error }))
    }
  }

  protected runDeferred(): void {
    const queue = this.deferred
    const owners = this.deferredOwners
    // Callbacks may defer more; the loop picks those up too.
    for (let i = 0; i < queue.length; i++) {
      const owner = owners[i] as SimProcess
      const callback = queue[i] as () => void
      if (owner.state === 'crashed') continue
      if (owner.state === 'paused') {
        owner.heldDeferred.push(callback)
        continue
      }
      this.currentProcess = owner
      try {
        callback()
      } catch (error) {
        this.failWith(new SimCrashedError(this.report(`a deferred callback on ${owner.label} threw: ${toError(error).message}`), { cause: error }))
        break
      }
    }
    queue.length = 0
    owners.length = 0
  }
}

function noop(): void {}
