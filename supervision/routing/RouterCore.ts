import {
  ActorRef,
  AskTimeoutError,
  Envelope,
  EnvelopeKind,
  type ActorAddress,
  type ActorContext,
  type ActorSystem,
  type AskOptions,
  type Headers,
} from '../../runtime/index.ts'
import { NoRouteesError } from '../errors.ts'
import { pressure, resizeDelta, type ResolvedResizer } from './Resizer.ts'
import type { RouterControlProtocol } from './PoolRouter.ts'
import type { RoutingLogic, TailChopping } from './RoutingLogic.ts'

type RefHost = ConstructorParameters<typeof ActorRef>[0]

/**
 * The routing state one router's refs share: the routee list, the logic, the resizer's counter.
 * It is the host of a RouterRef, so `tell` on the ref picks a routee and sends straight to it on
 * the sender's turn (the sender stays the sender), with no hop through the router's mailbox
 * (Akka's routers do the same). Messages that do reach the router actor's mailbox (sent before the
 * pool's routees existed, or from another node to its address) are routed from there.
 */
export class RouterCore implements RefHost {
  readonly system: ActorSystem
  readonly systemName: string
  readonly logic: RoutingLogic
  private routeeList: readonly ActorRef<any>[] = []
  private actor: ActorRef<any> | null = null
  /** False until the router actor has handed over every message it queued while starting. */
  ready = false
  private readonly resizer: ResolvedResizer | null
  private sinceResize = 0
  private resizeRequested = false

  constructor(system: ActorSystem, logic: RoutingLogic, resizer: ResolvedResizer | null = null) {
    this.system = system
    this.systemName = system.name
    this.logic = logic
    this.resizer = resizer
  }

  get routees(): readonly ActorRef<any>[] {
    return this.routeeList
  }

  /** The router actor itself (its own messages, such as `$routees`). */
  get actorRef(): ActorRef<any> {
    return this.actor as ActorRef<any>
  }

  /** The router actor behind this core (its address is the router's address). */
  attach(actor: ActorRef<any>): void {
    this.actor = actor
  }

  setRoutees(routees: readonly ActorRef<any>[]): void {
    this.routeeList = routees
    if (this.logic.kind === 'one' && this.logic.routeesChanged !== undefined && routees.length > 0) this.logic.routeesChanged(routees)
  }

  resized(): void {
    this.resizeRequested = false
  }

  // ------------------------------------------------------------------ RefHost: the fast path

  addressOf(_target: ActorRef<any>): ActorAddress {
    return (this.actor as ActorRef<any>).address
  }

  sendTell(_target: ActorRef<any>, method: string, args: unknown[], headers: Headers | null): void {
    const actor = this.actor as ActorRef<any>
    if (!this.ready) {
      actor.host.sendTell(actor, method, args, headers)
      return
    }
    // Pressure is read before this message lands in a mailbox (as Akka's resizer does).
    if (this.resizer !== null && ++this.sinceResize >= this.resizer.messagesPerResize) this.considerResize()
    const routees = this.routeeList
    const logic = this.logic
    if (logic.kind === 'one' && routees.length > 0) {
      const routee = logic.select(method, args, routees, this.system.random)
      routee.host.sendTell(routee, method, args, headers)
    } else this.tellOthers(method, args, headers, null)
  }

  sendAsk(_target: ActorRef<any>, method: string, args: unknown[], options: AskOptions | null): Promise<unknown> {
    if (!this.ready) {
      const actor = this.actor as ActorRef<any>
      return actor.host.sendAsk(actor, method, args, options)
    }
    if (this.resizer !== null && ++this.sinceResize >= this.resizer.messagesPerResize) this.considerResize()
    return this.routeAsk(method, args, options)
  }

  sendOffer(_target: ActorRef<any>, method: string, args: unknown[]): Promise<void> {
    const routees = this.routeeList
    if (!this.ready) {
      const actor = this.actor as ActorRef<any>
      return actor.host.sendOffer(actor, method, args)
    }
    if (routees.length === 0) return Promise.reject(this.noRoutees(method))
    const logic = this.logic
    if (logic.kind === 'one') {
      const routee = logic.select(method, args, routees, this.system.random)
      return routee.host.sendOffer(routee, method, args)
    }
    if (logic.kind === 'tail-chopping') {
      const routee = this.randomRoutee(routees)
      return routee.host.sendOffer(routee, method, args)
    }
    return Promise.all(routees.map((r) => r.host.sendOffer(r, method, args))).then(() => undefined)
  }

  // ------------------------------------------------------------------ from the router actor's mailbox

  /** A message in the routees' protocol that reached the router actor: route it from there. */
  fromMailbox(context: ActorContext<any>, method: string, args: unknown[]): unknown {
    const envelope = context.currentEnvelope
    if (envelope === null) return undefined
    if (envelope.kind === EnvelopeKind.Ask) {
      const headers = envelope.headers
      return this.routeAsk(method, args, headers === null ? null : { headers })
    }
    const routees = this.routeeList
    const logic = this.logic
    if (logic.kind === 'one' && routees.length > 0) {
      // The same envelope, addressed to the routee: the original sender stays the sender.
      envelope.target = logic.select(method, args, routees, this.system.random)
      this.system.deliverInbound(envelope)
      return undefined
    }
    this.tellOthers(method, args, envelope.headers, envelope)
    return undefined
  }

  // ------------------------------------------------------------------ routing

  /** Tells that are not one-routee-per-message, and tells with no routee to go to. */
  private tellOthers(method: string, args: unknown[], headers: Headers | null, envelope: Envelope | null): void {
    const routees = this.routeeList
    const actor = this.actor as ActorRef<any>
    if (routees.length === 0) {
      const dead = envelope ?? new Envelope(EnvelopeKind.Tell, actor, null, this.system.ids.nextMessageId(), 0, headers, method, args)
      this.system.deadLetter(dead, 'undeliverable', this.noRoutees(method))
      return
    }
    if (this.logic.kind === 'tail-chopping') {
      const routee = this.randomRoutee(routees)
      if (envelope === null) routee.host.sendTell(routee, method, args, headers)
      else {
        envelope.target = routee
        this.system.deliverInbound(envelope)
      }
      return
    }
    // broadcast and scatter-gather: every routee gets it.
    for (const routee of routees) {
      if (envelope === null) routee.host.sendTell(routee, method, args, headers)
      else this.system.deliverInbound(new Envelope(EnvelopeKind.Tell, routee, envelope.sender, this.system.ids.nextMessageId(), 0, headers, method, args))
    }
  }

  routeAsk(method: string, args: unknown[], options: AskOptions | null): Promise<unknown> {
    const routees = this.routeeList
    if (routees.length === 0) return Promise.reject(this.noRoutees(method))
    const logic = this.logic
    const timeoutMs = options?.timeoutMs ?? this.system.askTimeoutMs
    switch (logic.kind) {
      case 'one': {
        const routee = logic.select(method, args, routees, this.system.random)
        return routee.host.sendAsk(routee, method, args, options)
      }
      case 'broadcast':
        return this.firstReply(routees, method, args, { ...options, timeoutMs })
      case 'scatter-gather':
        return this.firstReply(routees, method, args, { ...options, timeoutMs: Math.min(timeoutMs, logic.withinMs) })
      case 'tail-chopping':
        return this.tailChop(logic, method, args, Math.min(timeoutMs, logic.withinMs), options?.headers)
    }
  }

  /** Asks every target; the first reply wins and the later ones are dropped. All failing: the last error. */
  private firstReply(targets: readonly ActorRef<any>[], method: string, args: unknown[], options: AskOptions): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let failures = 0
      let done = false
      for (const target of targets) {
        target.host.sendAsk(target, method, args, options).then(
          (value) => {
            if (done) return
            done = true
            resolve(value)
          },
          (error: unknown) => {
            if (done || ++failures < targets.length) return
            done = true
            reject(error)
          },
        )
      }
    })
  }

  /** Asks one routee, then one more every `intervalMs`, in random order, until a reply or `withinMs`. */
  private tailChop(logic: TailChopping, method: string, args: unknown[], withinMs: number, headers: Headers | undefined): Promise<unknown> {
    const order = [...this.routeeList]
    const random = this.system.random
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random.next() * (i + 1))
      const swap = order[i] as ActorRef<any>
      order[i] = order[j] as ActorRef<any>
      order[j] = swap
    }
    const clock = this.system.clock
    const deadline = clock.now() + withinMs
    return new Promise((resolve, reject) => {
      let next = 0
      let pending = 0
      let done = false
      let chop: ReturnType<typeof clock.setTimer> | null = null
      const finish = (ok: boolean, value: unknown): void => {
        if (done) return
        done = true
        if (chop !== null) clock.clearTimer(chop)
        clock.clearTimer(overall)
        if (ok) resolve(value)
        else reject(value)
      }
      const overall = clock.setTimer(withinMs, () => finish(false, new AskTimeoutError(`no routee answered '${method}' within ${withinMs} ms (tail-chopping)`, { data: { method, timeoutMs: withinMs } })))
      const sendNext = (): void => {
        if (done || next >= order.length) return
        const routee = order[next++] as ActorRef<any>
        pending++
        const remaining = Math.max(1, deadline - clock.now())
        routee.host.sendAsk(routee, method, args, headers === undefined ? { timeoutMs: remaining } : { timeoutMs: remaining, headers }).then(
          (value) => finish(true, value),
          (error: unknown) => {
            pending--
            if (pending > 0 || done) return
            if (next >= order.length) finish(false, error)
            else {
              // Everyone asked so far has failed: no reason to wait out the interval.
              if (chop !== null) clock.clearTimer(chop)
              sendNext()
            }
          },
        )
        if (next < order.length) {
          chop = clock.setTimer(logic.intervalMs, () => {
            chop = null
            sendNext()
          })
        }
      }
      sendNext()
    })
  }

  private randomRoutee(routees: readonly ActorRef<any>[]): ActorRef<any> {
    return routees[Math.floor(this.system.random.next() * routees.length)] as ActorRef<any>
  }

  private noRoutees(method: string): NoRouteesError {
    const actor = this.actor as ActorRef<any>
    return new NoRouteesError(`router ${actor.path} has no routees for '${method}'`, { data: { method } })
  }

  /** Every `messagesPerResize` messages: ask the pool to grow or shrink when the pressure says so. */
  private considerResize(): void {
    this.sinceResize = 0
    const resizer = this.resizer as ResolvedResizer
    if (this.resizeRequested) return
    const routees = this.routeeList
    const delta = resizeDelta(resizer, routees.length, pressure(routees, resizer.pressureThreshold))
    if (delta === 0) return
    this.resizeRequested = true
    const actor = this.actor as ActorRef<any>
    actor.host.sendTell(actor, '$resize', [delta], null)
  }
}

/**
 * A router as a ref: typed with the routees' protocol, serializable as the router actor's address,
 * and routing on the sender's turn when used locally. Stop, watch or poison it like the router actor.
 */
export class RouterRef<P> extends ActorRef<P> {
  /** @internal */
  readonly router: RouterCore

  /** @internal Made by spawnPool / spawnGroup. */
  constructor(core: RouterCore, actor: ActorRef<any>) {
    super(core, actor.cell, actor.address)
    this.router = core
  }

  /** The routees messages go to now. */
  get routees(): readonly ActorRef<P>[] {
    return this.router.routees
  }

  /** The router actor's own protocol (`$routees`), which this ref would route to the routees instead. */
  get control(): ActorRef<RouterControlProtocol> {
    return this.router.actorRef as ActorRef<RouterControlProtocol>
  }
}
