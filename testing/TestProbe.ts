import { Actor, EnvelopeKind, type ActorRef, type ActorSystem, type MethodArgs, type MethodName, type Terminated } from '../runtime/index.ts'
import { ExpectationError } from './errors.ts'
import type { Simulation } from './Simulation.ts'

/** A message a probe received. */
export interface ProbeMessage {
  readonly method: string
  readonly args: readonly unknown[]
  /** Who sent it (an actor), or null from plain code. */
  readonly sender: ActorRef<any> | null
  /** True for an ask: answer it with `reply` or `fail` (until then the asker waits). */
  readonly isAsk: boolean
  /** Virtual time it arrived. */
  readonly at: number
  /** Answers the ask. No effect for a tell or an ask already answered. */
  reply(value: unknown): void
  /** Fails the ask with `error`. */
  fail(error: Error): void
}

/** Default wait for `expect*` / `receive*`, in virtual ms. */
const DEFAULT_WITHIN = 3000
/** Default quiet period for `expectNoMessage`, in virtual ms. */
const DEFAULT_QUIET = 100

const SEND = '__probeSend'
const WATCH = '__probeWatch'
/** Names a probe never treats as messages (promise and printing machinery probes objects for them). */
const NOT_HANDLERS = new Set(['then', 'catch', 'finally', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'constructor'])

interface ProbeSink {
  readonly sim: Simulation
  readonly queue: ProbeMessage[]
  readonly terminated: Terminated[]
}

/**
 * The probe's actor: it accepts any method (a Proxy supplies a handler for every name) and records
 * each message. Reentrant, so an unanswered ask does not block the messages behind it.
 */
class ProbeActor extends Actor<any> {
  private readonly sink: ProbeSink

  constructor(sink: ProbeSink) {
    super()
    this.sink = sink
    // The context is the task the scheduler runs: a probe's unanswered asks are not an escape.
    sink.sim.allowWaiting(this.context)
    return new Proxy(this, {
      get: (target, property, receiver) => {
        if (typeof property !== 'string' || property in target || NOT_HANDLERS.has(property)) return Reflect.get(target, property, receiver) as unknown
        return (...args: unknown[]) => target.__probeRecord(property, args)
      },
    })
  }

  [SEND](target: ActorRef<any>, method: string, args: unknown[]): void {
    ;(target.tell as (method: string, ...args: unknown[]) => void)(method, ...args)
  }

  [WATCH](target: ActorRef<any>): void {
    this.context.watch(target)
  }

  override onTerminated(terminated: Terminated): void {
    this.sink.terminated.push(terminated)
  }

  private __probeRecord(method: string, args: unknown[]): unknown {
    const envelope = this.context.currentEnvelope
    const isAsk = envelope !== null && envelope.kind === EnvelopeKind.Ask
    const sender = this.context.sender
    const at = this.sink.sim.now
    if (!isAsk) {
      this.sink.queue.push({ method, args, sender, isAsk, at, reply: () => {}, fail: () => {} })
      return undefined
    }
    return new Promise<unknown>((resolve, reject) => {
      this.sink.queue.push({ method, args, sender, isAsk, at, reply: resolve, fail: reject })
    })
  }
}

/**
 * A stand-in actor for tests: give its `ref` to the actor under test, then assert on what arrives,
 * in virtual time. Every wait drives the simulation, so `expectMessage('pong', 100)` means "within
 * 100 virtual ms", however long that takes in real time.
 *
 * ```ts
 * const probe = kit.createProbe<PongProtocol>()
 * pinger.tell('ping', probe.ref)
 * const msg = await probe.expectMessage('pong', 50)
 * ```
 */
export class TestProbe<P = any> {
  readonly ref: ActorRef<P>
  private readonly sim: Simulation
  private readonly sink: ProbeSink

  constructor(sim: Simulation, system: ActorSystem, name?: string) {
    this.sim = sim
    this.sink = { sim, queue: [], terminated: [] }
    const options = name === undefined ? { reentrant: true, args: [this.sink] as [ProbeSink] } : { name, reentrant: true, args: [this.sink] as [ProbeSink] }
    this.ref = system.spawn(ProbeActor, options) as ActorRef<P>
  }

  /** Messages received and not yet taken by an expectation. */
  get pending(): readonly ProbeMessage[] {
    return this.sink.queue
  }

  /** Takes the next message, waiting up to `withinMs` of virtual time for one. */
  async receiveMessage(withinMs = DEFAULT_WITHIN): Promise<ProbeMessage> {
    const queue = this.sink.queue
    if (queue.length === 0 && !(await this.sim.runFor(withinMs, () => queue.length > 0))) {
      throw new ExpectationError(`${this.ref.path}: no message within ${withinMs} ms (virtual)`)
    }
    return queue.shift() as ProbeMessage
  }

  /**
   * Takes the next message and checks its method (and, when given, its arguments, compared
   * structurally). Fails if nothing arrives within `withinMs` or the next message is another.
   */
  async expectMessage<K extends MethodName<P>>(method: K, withinMs = DEFAULT_WITHIN, ...args: Partial<MethodArgs<P, K>> | []): Promise<ProbeMessage> {
    let message: ProbeMessage
    try {
      message = await this.receiveMessage(withinMs)
    } catch (error) {
      if (error instanceof ExpectationError) throw new ExpectationError(`${this.ref.path}: expected '${String(method)}' within ${withinMs} ms (virtual), got nothing`)
      throw error
    }
    if (message.method !== method) {
      throw new ExpectationError(`${this.ref.path}: expected '${String(method)}', got '${message.method}'(${preview(message.args)})`, { data: { expected: method, actual: message } })
    }
    if (args.length > 0 && !sameData(args, message.args.slice(0, args.length))) {
      throw new ExpectationError(`${this.ref.path}: expected '${String(method)}'(${preview(args)}), got '${message.method}'(${preview(message.args)})`)
    }
    return message
  }

  /** Takes `n` messages, all within `withinMs` of virtual time. */
  async receiveMessages(n: number, withinMs = DEFAULT_WITHIN): Promise<ProbeMessage[]> {
    const queue = this.sink.queue
    if (queue.length < n && !(await this.sim.runFor(withinMs, () => queue.length >= n))) {
      throw new ExpectationError(`${this.ref.path}: expected ${n} messages within ${withinMs} ms (virtual), got ${queue.length}`)
    }
    return queue.splice(0, n)
  }

  /** Runs the simulation for `forMs` of virtual time and fails if any message arrives meanwhile. */
  async expectNoMessage(forMs = DEFAULT_QUIET): Promise<void> {
    const queue = this.sink.queue
    if (queue.length > 0 || (await this.sim.runFor(forMs, () => queue.length > 0))) {
      const message = queue[0] as ProbeMessage
      throw new ExpectationError(`${this.ref.path}: expected no message for ${forMs} ms (virtual), got '${message.method}'(${preview(message.args)}) at t=${message.at}`)
    }
  }

  /**
   * Takes messages until one satisfies `accept` (the others are discarded) and returns it; fails
   * if none does within `withinMs` of virtual time.
   */
  async fishForMessage(accept: (message: ProbeMessage) => boolean, withinMs = DEFAULT_WITHIN): Promise<ProbeMessage> {
    const queue = this.sink.queue
    let found: ProbeMessage | null = null
    const look = (): boolean => {
      while (found === null && queue.length > 0) {
        const message = queue.shift() as ProbeMessage
        if (accept(message)) found = message
      }
      return found !== null
    }
    if (!look() && !(await this.sim.runFor(withinMs, look))) {
      throw new ExpectationError(`${this.ref.path}: no matching message within ${withinMs} ms (virtual)`)
    }
    return found as unknown as ProbeMessage
  }

  /** Sends `method` to `target` as the probe (so the target's `sender` is the probe and replies come here). */
  send<Q, K extends MethodName<Q>>(target: ActorRef<Q>, method: K, ...args: MethodArgs<Q, K>): void {
    ;(this.ref as unknown as ActorRef<Record<string, (...a: unknown[]) => void>>).tell(SEND, target, method, args)
  }

  /** Death-watches `target` from the probe; see `expectTerminated`. */
  watch(target: ActorRef<any>): void {
    ;(this.ref as unknown as ActorRef<Record<string, (...a: unknown[]) => void>>).tell(WATCH, target)
  }

  /** Waits (virtual time) for the Terminated of a watched actor and returns it. */
  async expectTerminated(target: ActorRef<any>, withinMs = DEFAULT_WITHIN): Promise<Terminated> {
    const list = this.sink.terminated
    const find = (): number => list.findIndex((t) => t.ref.equals(target))
    if (find() < 0 && !(await this.sim.runFor(withinMs, () => find() >= 0))) {
      throw new ExpectationError(`${this.ref.path}: ${target.path} did not terminate within ${withinMs} ms (virtual)`)
    }
    return list.splice(find(), 1)[0] as Terminated
  }
}

function preview(args: readonly unknown[]): string {
  return args
    .map((a) => {
      try {
        const text = JSON.stringify(a) ?? String(a)
        return text.length > 60 ? `${text.slice(0, 57)}...` : text
      } catch {
        return String(a)
      }
    })
    .join(', ')
}

/** Structural equality for plain data (what messages carry). */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (typeof (a as { equals?: unknown }).equals === 'function') return (a as { equals(o: unknown): boolean }).equals(b)
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
