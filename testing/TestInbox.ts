import { ActorRef, type ActorAddress, type AskOptions, type Headers, type MethodName } from '../runtime/index.ts'
import { ExpectationError } from './errors.ts'
import { sameData } from './TestProbe.ts'

/** A message that reached a TestInbox. */
export interface InboxMessage {
  readonly method: string
  readonly args: readonly unknown[]
  readonly kind: 'tell' | 'ask' | 'offer'
  /** The actor under test when it sent from a handler; null from elsewhere. */
  readonly sender: ActorRef<any> | null
  readonly headers: Headers | null
  /** Answers an ask (resolves the asker's promise). No effect otherwise. */
  reply(value: unknown): void
  fail(error: Error): void
}

/** @internal Where the refs of a BehaviorTestKit deliver: one place that knows every inbox. */
export class InboxRouter {
  readonly systemName: string
  private readonly inboxes = new Map<string, TestInbox<any>>()
  /** Set while the actor under test handles a message: the sender of what it sends. */
  currentSender: ActorRef<any> | null = null
  /** Every send, in order (the kit turns them into effects). */
  readonly onSend: (to: ActorRef<any>, message: InboxMessage) => void
  private uid = 1

  constructor(systemName: string, onSend: (to: ActorRef<any>, message: InboxMessage) => void) {
    this.systemName = systemName
    this.onSend = onSend
  }

  /** A ref whose messages land in a new inbox at `path`. */
  inbox<P>(path: string): TestInbox<P> {
    const existing = this.inboxes.get(path)
    if (existing !== undefined) return existing as TestInbox<P>
    const address: ActorAddress = { system: this.systemName, node: 'local', shard: 0, path, uid: this.uid++ }
    const ref = new ActorRef<P>(this, null, address)
    const inbox = new TestInbox<P>(ref)
    this.inboxes.set(path, inbox)
    return inbox
  }

  // RefHost: what the fake refs call.
  sendTell(target: ActorRef<any>, method: string, args: unknown[], headers: Headers | null): void {
    this.post(target, { method, args, kind: 'tell', sender: this.currentSender, headers, reply: noop, fail: noop })
  }

  sendAsk(target: ActorRef<any>, method: string, args: unknown[], options: AskOptions | null): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.post(target, { method, args, kind: 'ask', sender: this.currentSender, headers: options?.headers ?? null, reply: resolve, fail: reject })
    })
  }

  sendOffer(target: ActorRef<any>, method: string, args: unknown[]): Promise<void> {
    this.post(target, { method, args, kind: 'offer', sender: this.currentSender, headers: null, reply: noop, fail: noop })
    return Promise.resolve()
  }

  addressOf(target: ActorRef<any>): ActorAddress {
    return target.address
  }

  private post(target: ActorRef<any>, message: InboxMessage): void {
    this.onSend(target, message)
    this.inboxes.get(target.path)?.deliver(message)
  }
}

function noop(): void {}

/**
 * A ref that records what is sent to it, for synchronous tests (BehaviorTestKit): pass `inbox.ref`
 * to the actor under test, run a handler, then look at what arrived. Nothing is asynchronous here.
 */
export class TestInbox<P = any> {
  readonly ref: ActorRef<P>
  private readonly queue: InboxMessage[] = []

  /** @internal Made by a BehaviorTestKit. */
  constructor(ref: ActorRef<P>) {
    this.ref = ref
  }

  /** @internal */
  deliver(message: InboxMessage): void {
    this.queue.push(message)
  }

  get hasMessages(): boolean {
    return this.queue.length > 0
  }

  /** Messages not yet taken, oldest first. */
  get messages(): readonly InboxMessage[] {
    return this.queue
  }

  /** Takes the oldest message; fails if there is none. */
  receiveMessage(): InboxMessage {
    const message = this.queue.shift()
    if (message === undefined) throw new ExpectationError(`${this.ref.path}: no message`)
    return message
  }

  /** Takes the oldest message and checks its method (and the leading arguments, when given). */
  expectMessage<K extends MethodName<P>>(method: K, ...args: unknown[]): InboxMessage {
    const message = this.queue.shift()
    if (message === undefined) throw new ExpectationError(`${this.ref.path}: expected '${String(method)}', got nothing`)
    if (message.method !== method) throw new ExpectationError(`${this.ref.path}: expected '${String(method)}', got '${message.method}'`)
    if (args.length > 0 && !sameData(args, message.args.slice(0, args.length))) {
      throw new ExpectationError(`${this.ref.path}: '${String(method)}' arrived with other arguments than expected`, { data: { expected: args, actual: message.args } })
    }
    return message
  }

  expectNoMessage(): void {
    const message = this.queue[0]
    if (message !== undefined) throw new ExpectationError(`${this.ref.path}: expected no message, got '${message.method}'`)
  }

  /** Drops everything received so far. */
  clear(): void {
    this.queue.length = 0
  }
}
