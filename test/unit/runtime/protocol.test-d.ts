import { describe, expectTypeOf, test } from 'vitest'
import { Actor, ActorSystem, type ActorRef, type MethodArgs, type MethodName, type MethodReply } from '../../../runtime/index.ts'

interface CounterProtocol {
  inc(by: number): void
  add(a: number, b: number): number
  get(): number
  load(key: string): Promise<{ key: string; value: number }>
  optional(label?: string): string
}

class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private n = 0
  inc(by: number): void {
    this.n += by
  }
  add(a: number, b: number): number {
    return a + b
  }
  get(): number {
    return this.n
  }
  async load(key: string): Promise<{ key: string; value: number }> {
    return { key, value: this.n }
  }
  optional(label = 'x'): string {
    return label
  }
  /** Not a message: protected members and hooks are outside the protocol. */
  override preStart(): void {
    this.context.timers.startSingle('t', 10, 'inc', 1)
    // @ts-expect-error unknown method name for a timer
    this.context.timers.startSingle('t', 10, 'nope')
    // @ts-expect-error wrong argument type for a timer
    this.context.timers.startPeriodic('t', 10, 'inc', 'one')
    // @ts-expect-error missing argument for a timer
    this.context.timers.startSingle('t', 10, 'inc')
    this.context.setReceiveTimeout(100, 'get')
    // @ts-expect-error unknown method name for the receive timeout
    this.context.setReceiveTimeout(100, 'idle')
    // @ts-expect-error wrong arguments for the receive timeout
    this.context.setReceiveTimeout(100, 'inc', 'x')
  }
}

class WithArgs extends Actor<{ name(): string }> {
  private readonly label: string
  private readonly count: number
  constructor(label: string, count: number) {
    super()
    this.label = label
    this.count = count
  }
  name(): string {
    return `${this.label}${this.count}`
  }
}

class NoArgs extends Actor<{ ping(): void }> {
  ping(): void {}
}

declare const system: ActorSystem
declare const counter: ActorRef<CounterProtocol>

describe('protocol types', () => {
  test('spawn infers the protocol from the class', () => {
    expectTypeOf(system.spawn(Counter)).toEqualTypeOf<ActorRef<CounterProtocol>>()
    expectTypeOf(system.spawn(NoArgs, { name: 'n' })).toEqualTypeOf<ActorRef<{ ping(): void }>>()
  })

  test('tell accepts only protocol method names with their exact arguments', () => {
    counter.tell('inc', 1)
    counter.tell('add', 1, 2)
    counter.tell('get')
    counter.tell('optional')
    counter.tell('optional', 'label')
    // @ts-expect-error unknown method name
    counter.tell('dec', 1)
    // @ts-expect-error wrong argument type
    counter.tell('inc', '1')
    // @ts-expect-error missing argument
    counter.tell('inc')
    // @ts-expect-error too many arguments
    counter.tell('inc', 1, 2)
    // @ts-expect-error too few arguments
    counter.tell('add', 1)
    // @ts-expect-error lifecycle hooks are not messages
    counter.tell('preStart')
  })

  test('ask infers the reply type, unwrapping a Promise', () => {
    expectTypeOf(counter.ask('get')).toEqualTypeOf<Promise<number>>()
    expectTypeOf(counter.ask('add', 1, 2)).toEqualTypeOf<Promise<number>>()
    expectTypeOf(counter.ask('inc', 1)).toEqualTypeOf<Promise<void>>()
    expectTypeOf(counter.ask('load', 'k')).toEqualTypeOf<Promise<{ key: string; value: number }>>()
    expectTypeOf(counter.askWith({ timeoutMs: 10 }, 'load', 'k')).resolves.toEqualTypeOf<{ key: string; value: number }>()
    expectTypeOf(counter.offer('inc', 1)).toEqualTypeOf<Promise<void>>()
    // @ts-expect-error unknown method name
    void counter.ask('nope')
    // @ts-expect-error wrong argument count
    void counter.ask('load')
    // @ts-expect-error wrong argument type
    void counter.askWith({ timeoutMs: 10 }, 'load', 1)
    // @ts-expect-error wrong argument type on the backpressure path
    void counter.offer('inc', 'x')
  })

  test('a reply is not assignable to the wrong type', async () => {
    const n: number = await counter.ask('get')
    // @ts-expect-error the reply is a number
    const s: string = await counter.ask('get')
    void n
    void s
  })

  test('spawn requires args exactly when the constructor has parameters', () => {
    system.spawn(WithArgs, { args: ['a', 1] })
    system.spawn(WithArgs, { name: 'w', args: ['a', 1] })
    // @ts-expect-error options with args are required
    system.spawn(WithArgs)
    // @ts-expect-error args are required
    system.spawn(WithArgs, { name: 'w' })
    // @ts-expect-error wrong argument types
    system.spawn(WithArgs, { args: [1, 'a'] })
    // @ts-expect-error too few arguments
    system.spawn(WithArgs, { args: ['a'] })
    system.spawn(NoArgs)
    system.spawn(NoArgs, {})
    system.spawn(NoArgs, { args: [] })
    // @ts-expect-error the constructor takes no arguments
    system.spawn(NoArgs, { args: ['unexpected'] })
  })

  test('the protocol helpers', () => {
    expectTypeOf<MethodName<CounterProtocol>>().toEqualTypeOf<'inc' | 'add' | 'get' | 'load' | 'optional'>()
    expectTypeOf<MethodArgs<CounterProtocol, 'add'>>().toEqualTypeOf<[a: number, b: number]>()
    expectTypeOf<MethodReply<CounterProtocol, 'load'>>().toEqualTypeOf<{ key: string; value: number }>()
  })

  test('an untyped ref (ActorRef<any>) accepts anything, for dynamic clients', () => {
    const loose = counter as ActorRef<any>
    loose.tell('whatever', 1, 'two')
    const reply = loose.ask('whatever')
    expectTypeOf<Awaited<typeof reply>>().toBeAny()
    void reply
  })
})
