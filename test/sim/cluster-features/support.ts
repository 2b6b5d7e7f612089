import { Actor } from '../../../runtime/index.ts'
import type { SingletonToken } from '../../../cluster/index.ts'

/** Seeds per scenario: CLUSTER_FEATURES_SEEDS (default kept small for CI time). */
export const SEEDS = Number(process.env['CLUSTER_FEATURES_SEEDS'] ?? 4)
export const FIVE = ['n1', 'n2', 'n3', 'n4', 'n5']

export interface WorkerProtocol {
  ping(n: number): string
  work(id: string): void
}

/** Records what it handled in a shared log (the test's view of deliveries). */
export class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  private readonly log: string[]
  constructor(log: string[]) {
    super()
    this.log = log
  }
  ping(n: number): string {
    return `${this.context.system.node}:${n}`
  }
  work(id: string): void {
    this.log.push(`${this.context.system.node}:${id}`)
  }
}

export interface CounterProtocol {
  add(id: string): void
  token(): string
}

/** A singleton: records every message with the fencing token it ran under. */
export class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private readonly log: string[]
  private readonly t: SingletonToken
  constructor(log: string[], token: SingletonToken) {
    super()
    this.log = log
    this.t = token
  }
  add(id: string): void {
    this.log.push(id)
  }
  token(): string {
    return `${this.t.node}#${this.t.incarnation}@${this.t.fencing.term}.${this.t.fencing.version}`
  }
}

export interface ListenerProtocol {
  event(id: string): Promise<void>
}

/** A pub-sub subscriber that records `<name>:<id>` and takes `delayMs` of virtual time per event. */
export class Listener extends Actor<ListenerProtocol> implements ListenerProtocol {
  private readonly log: string[]
  private readonly delayMs: number
  constructor(log: string[], delayMs: number) {
    super()
    this.log = log
    this.delayMs = delayMs
  }
  async event(id: string): Promise<void> {
    this.log.push(`${this.context.system.node}/${this.context.name}:${id}`)
    if (this.delayMs > 0) await new Promise<void>((resolve) => this.context.system.clock.setTimer(this.delayMs, resolve))
  }
}
