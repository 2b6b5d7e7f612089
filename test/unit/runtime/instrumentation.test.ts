import { describe, expect, it } from 'vitest'
import { Actor, ActorSystem, combineInstrumentation, type Instrumentation } from '../../../runtime/index.ts'

interface RelayProtocol {
  relay(to: string): void
  sink(): string | undefined
  lastTrace(): string | undefined
  slow(): Promise<string>
  fail(): void
}
class Relay extends Actor<RelayProtocol> implements RelayProtocol {
  private last: string | undefined
  relay(to: string) {
    this.context.system.lookup<RelayProtocol>(to)?.tell('sink')
  }
  sink() {
    this.last = this.context.headers?.['traceparent']
    return this.last
  }
  lastTrace() {
    return this.last
  }
  async slow() {
    await Promise.resolve()
    return 'done'
  }
  fail(): void {
    throw new Error('nope')
  }
}

describe('Instrumentation', () => {
  it('lets onSend add headers that the receiving handler sees, and wraps every handler call', async () => {
    const handled: string[] = []
    let current: string | undefined
    const tracing: Instrumentation = {
      onSend(envelope) {
        // Propagate: a message sent while handling another carries the handler's trace id.
        envelope.headers = { ...envelope.headers, traceparent: current ?? `root-${envelope.method}` }
      },
      aroundHandle(envelope, _actor, invoke) {
        const previous = current
        current = envelope.headers?.['traceparent']
        try {
          return invoke()
        } finally {
          current = previous
        }
      },
    }
    const metrics: Instrumentation = {
      aroundHandle(envelope, actor, invoke) {
        handled.push(`${actor.actorType}.${envelope.method}`)
        return invoke()
      },
    }
    const system = ActorSystem.create({ name: 'instr', instrumentation: combineInstrumentation([tracing, metrics]) })
    const a = system.spawn(Relay, { name: 'a', registerAs: 'a' })
    const b = system.spawn(Relay, { name: 'b', registerAs: 'b' })
    a.tell('relay', 'b')
    expect(await a.ask('slow')).toBe('done')
    // b's sink ran with the trace id of a's relay message: propagated, not a new root.
    expect(await b.ask('lastTrace')).toBe('root-relay')
    expect([...handled].sort()).toEqual(['Relay.lastTrace', 'Relay.relay', 'Relay.sink', 'Relay.slow'])
    await expect(a.ask('fail')).rejects.toThrow('nope')
    expect(handled.at(-1)).toBe('Relay.fail')
    await system.terminate()
  })
})
