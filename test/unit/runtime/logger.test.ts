import { describe, expect, it } from 'vitest'
import { Actor, ActorSystem, type Logger } from '../../../runtime/index.ts'

/** A pino-shaped logger that records each line with its accumulated bindings. */
function recordingLogger(lines: Record<string, unknown>[], bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (obj: object, msg?: string) => lines.push({ level, ...bindings, ...obj, msg })
  return {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: write('debug'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  }
}

interface GreeterProtocol {
  greet(name: string): void
}
class Greeter extends Actor<GreeterProtocol> implements GreeterProtocol {
  greet(name: string) {
    this.context.log.info({ name }, 'greeting')
  }
}

describe('logging', () => {
  it('context.log is the system logger bound to the system, shard, actor path and type', async () => {
    const lines: Record<string, unknown>[] = []
    const system = ActorSystem.create({ name: 'logs', shard: 2, logger: recordingLogger(lines, { node: 'n1' }) })
    const greeter = system.spawn(Greeter, { name: 'greeter' })
    greeter.tell('greet', 'ada')
    await system.terminate()
    expect(lines).toEqual([{ level: 'info', node: 'n1', system: 'logs', shard: 2, actor: '/user/greeter', actorType: 'Greeter', name: 'ada', msg: 'greeting' }])
  })

  it('is silent by default', async () => {
    const system = ActorSystem.create({ name: 'quiet' })
    const greeter = system.spawn(Greeter)
    greeter.tell('greet', 'x')
    await system.terminate()
    expect(system.log.child({}).info).toBeTypeOf('function')
  })
})
