/** Actors the remoting tests (loopback and NATS) talk to across systems. */
import { Actor, type ActorRef, type Terminated } from '../../runtime/index.ts'

export interface EchoProtocol {
  echo(text: string): string
  remember(text: string): void
  recall(): string[]
  fail(): void
  quit(): void
  whoAmI(): string
  forward(to: ActorRef<EchoProtocol>, text: string): void
}

export class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  private readonly seen: string[] = []
  echo(text: string) {
    return `echo:${text}`
  }
  remember(text: string) {
    this.seen.push(text)
  }
  recall() {
    return this.seen
  }
  fail(): void {
    throw new Error('remote boom')
  }
  quit() {
    this.context.stop()
  }
  whoAmI() {
    return this.context.self.toString()
  }
  forward(to: ActorRef<EchoProtocol>, text: string) {
    to.tell('remember', text)
  }
}

export interface WatcherProtocol {
  watchIt(ref: ActorRef<EchoProtocol>): void
  seen(): Terminated[]
}

/** Remembers every Terminated it gets. */
export class Watcher extends Actor<WatcherProtocol> implements WatcherProtocol {
  private readonly terminated: Terminated[] = []
  watchIt(ref: ActorRef<EchoProtocol>) {
    this.context.watch(ref)
  }
  seen() {
    return this.terminated
  }
  override onTerminated(t: Terminated) {
    this.terminated.push(t)
  }
}
