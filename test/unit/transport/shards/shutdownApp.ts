/**
 * App of the shutdown test: a parent with a child on each shard, both reporting their postStop on
 * stdout, so the test can check each shard stops its tree children first.
 */
import { Actor } from '../../../../runtime/index.ts'
import { defineShardApp } from '../../../../transport/index.ts'

function report(what: string): void {
  process.stdout.write(`${what}\n`)
}

export interface ChildProtocol {
  ping(): string
}
export class Child extends Actor<ChildProtocol> implements ChildProtocol {
  ping(): string {
    return 'pong'
  }
  override postStop(): void {
    report(`stopped shard=${this.context.system.shard} ${this.context.path}`)
  }
}

export interface ParentProtocol {
  ping(): string
  /** A handler that never settles: this actor (and so its shard's tree) can then never finish stopping. */
  never(): Promise<never>
}
export class Parent extends Actor<ParentProtocol> implements ParentProtocol {
  override preStart(): void {
    this.context.spawn(Child, { name: 'child' })
    // A pending actor timer must not hold the thread either.
    this.context.timers.startSingle('late', 60_000, 'ping')
  }
  ping(): string {
    return 'pong'
  }
  never(): Promise<never> {
    return new Promise<never>(() => {})
  }
  override postStop(): void {
    report(`stopped shard=${this.context.system.shard} ${this.context.path}`)
  }
}

export interface StrayProtocol {
  ping(): string
}
/** Leaves a host interval running (not an actor timer): nothing in the runtime knows to clear it. */
export class Stray extends Actor<StrayProtocol> implements StrayProtocol {
  override preStart(): void {
    setInterval(() => {}, 1000)
  }
  ping(): string {
    return 'pong'
  }
  override postStop(): void {
    report(`stopped shard=${this.context.system.shard} ${this.context.path}`)
  }
}

export default defineShardApp({ actors: { Parent, Child, Stray } })
