/**
 * Shared fixtures for the supervision scenario tests: a system on a VirtualClock that records every
 * supervisor event, and a configurable worker whose lifecycle is written to a shared log.
 */
import { Actor, ActorSystem, type ActorRef, type ActorSystemOptions } from '../../../runtime/index.ts'
import { SupervisorEventTopic, type ChildInfo, type SupervisorEvent, type SupervisorProtocol } from '../../../supervision/index.ts'
import { VirtualClock, waitFor } from '../../../testing/index.ts'

/** What a test wants a Probe to do, shared by reference with every incarnation of it. */
export interface ProbeControl {
  /** preStart (and so the default postRestart) throws while this returns true for the probe's label. */
  failStart?: (label: string) => boolean
  /** postStop waits for this gate: closed, the child ignores shutdown. */
  stopGate?: Gate
  /** onStopping waits for this gate. */
  stoppingGate?: Gate
}

/** A promise opened by hand: `wait()` settles once `open()` has been called. */
export class Gate {
  private opened = false
  private readonly waiters: (() => void)[] = []
  wait(): Promise<void> {
    if (this.opened) return Promise.resolve()
    return new Promise<void>((resolve) => this.waiters.push(resolve))
  }
  open(): void {
    this.opened = true
    for (const waiter of this.waiters.splice(0)) waiter()
  }
}

export interface ProbeProtocol {
  ping(): string
  inc(): number
  count(): number
  crash(message?: string): void
  crashAsync(message?: string): Promise<void>
  /** Never settles: the probe cannot handle anything else (not even a stop) while it waits. */
  hang(): Promise<void>
  quit(): void
  /** Fails `delayMs` later from a timer-driven message. */
  crashLater(delayMs: number): void
  timerCrash(): void
}

/** A worker that logs `start x`, `stop x`, `restart x` and can fail in every way a test needs. */
export class Probe extends Actor<ProbeProtocol> implements ProbeProtocol {
  readonly label: string
  readonly log: string[]
  readonly control: ProbeControl
  private n = 0
  handled = 0

  constructor(label: string, log: string[], control: ProbeControl = {}) {
    super()
    this.label = label
    this.log = log
    this.control = control
  }

  override preStart(): void {
    if (this.control.failStart?.(this.label) === true) {
      this.log.push(`start-failed ${this.label}`)
      throw new Error(`start of ${this.label} failed`)
    }
    this.log.push(`start ${this.label}`)
  }

  override onStopping(): void | Promise<void> {
    const gate = this.control.stoppingGate
    if (gate !== undefined) {
      this.log.push(`stopping ${this.label}`)
      return gate.wait()
    }
  }

  override postStop(): void | Promise<void> {
    this.log.push(`stop ${this.label}`)
    return this.control.stopGate?.wait()
  }

  ping(): string {
    return `pong ${this.label}`
  }
  inc(): number {
    return ++this.n
  }
  count(): number {
    return this.n
  }
  crash(message = `boom ${this.label}`): void {
    this.handled++
    throw new Error(message)
  }
  async crashAsync(message = `async boom ${this.label}`): Promise<void> {
    await Promise.resolve()
    throw new Error(message)
  }
  hang(): Promise<void> {
    this.log.push(`hang ${this.label}`)
    return new Promise<void>(() => {})
  }
  quit(): void {
    this.context.stop()
  }
  crashLater(delayMs: number): void {
    this.context.timers.startSingle('crash', delayMs, 'timerCrash')
  }
  timerCrash(): void {
    throw new Error(`timer boom ${this.label}`)
  }
}

let systems = 0

/** A system on a virtual clock, with every supervisor event recorded in order. */
export function testSystem(options: Partial<ActorSystemOptions> = {}) {
  const clock = new VirtualClock()
  const system = ActorSystem.create({ name: `sup-${systems++}`, clock, ...options })
  const events: SupervisorEvent[] = []
  system.subscribe(SupervisorEventTopic, (event) => events.push(event))
  const log: string[] = []
  /** Events of one type, optionally for one child id. */
  const ofType = <T extends SupervisorEvent['type']>(type: T, childId?: string) =>
    events.filter((e): e is Extract<SupervisorEvent, { type: T }> => e.type === type && (childId === undefined || e.childId === childId))
  /** Waits until `count` events of `type` (for `childId`) have been published. */
  const waitForEvents = (type: SupervisorEvent['type'], count: number, childId?: string) =>
    waitFor(() => ofType(type, childId).length >= count, { message: `expected ${count} '${type}' event(s)${childId === undefined ? '' : ` for ${childId}`}, saw ${ofType(type, childId).length}` })
  return { system, clock, events, log, ofType, waitForEvents }
}

/** The running child with that id (throws if there is none). */
export async function childOf<P = ProbeProtocol>(sup: ActorRef<SupervisorProtocol>, id: string): Promise<ActorRef<P>> {
  const ref = (await sup.ask('lookupChild', id)) as ActorRef<P> | null
  if (ref === null) throw new Error(`no running child '${id}'`)
  return ref
}

/** whichChildren reduced to what most assertions compare: id → status. */
export async function statuses(sup: ActorRef<SupervisorProtocol>): Promise<Record<string, ChildInfo['status']>> {
  const children = await sup.ask('whichChildren')
  return Object.fromEntries(children.map((c) => [c.id, c.status]))
}

/** The ref of a start that must have started an actor (not `'ignore'`). */
export async function started<P = any>(result: Promise<{ readonly ref: ActorRef<P> | null }>): Promise<ActorRef<P>> {
  const { ref } = await result
  if (ref === null) throw new Error('the child was ignored, not started')
  return ref
}
