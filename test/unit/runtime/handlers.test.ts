import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Actor, ErrorCodes, errorCode } from '../../../runtime/index.ts'
import { collectDeadLetters, useSystems } from './support/helpers.ts'

const newSystem = useSystems()

// Handlers are resolved once per class and method name (runtime/cell/Dispatch.ts): these cases pin
// down that the cache answers exactly what a fresh lookup on the instance would.

interface Animal {
  speak(): string
  name(): string
}
class Dog extends Actor<Animal> implements Animal {
  speak(): string {
    return 'woof'
  }
  name(): string {
    return 'dog'
  }
}
class Puppy extends Dog {
  override speak(): string {
    return 'yip'
  }
}

interface FieldProtocol {
  hello(who: string): string
}
class WithFieldHandler extends Actor<FieldProtocol> {
  private readonly greeting = 'hi'
  // A handler assigned as an instance field: not on the prototype, still a handler.
  readonly hello = (who: string): string => `${this.greeting} ${who}`
}

describe('handler lookup', () => {
  it('a subclass has handlers of its own: an override wins, inherited methods still answer', async () => {
    const system = newSystem()
    const dog = system.spawn(Dog)
    const puppy = system.spawn(Puppy)
    // Interleaved so that each class's cache is warm when the other's is first used.
    expect(await dog.ask('speak')).toBe('woof')
    expect(await puppy.ask('speak')).toBe('yip')
    expect(await dog.ask('speak')).toBe('woof')
    expect(await puppy.ask('name')).toBe('dog')
    expect(await dog.ask('name')).toBe('dog')
  })

  it('a handler set as an instance field is called with its instance', async () => {
    const system = newSystem()
    const a = system.spawn(WithFieldHandler)
    expect(await a.ask('hello', 'ann')).toBe('hi ann')
  })

  it('reserved and unknown names are never handlers, cached or not: dead letter, ERR_UNKNOWN_METHOD', async () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const dog = system.spawn(Dog)
    for (let round = 0; round < 2; round++) {
      for (const method of ['preStart', 'postStop', 'onChildFailure', 'constructor', 'context', 'bark']) {
        const error = await (dog as unknown as { ask(m: string): Promise<unknown> }).ask(method).catch((e: unknown) => e)
        expect(errorCode(error), method).toBe(ErrorCodes.UnknownMethod)
      }
    }
    expect(letters.every((l) => l.reason === 'unknown-method')).toBe(true)
    expect(letters).toHaveLength(12)
    expect(await dog.ask('speak')).toBe('woof')
  })

  it('names that are not handlers are not remembered: a sender cannot grow the cache with made-up names', async () => {
    class Fresh extends Dog {}
    const system = newSystem()
    const ref = system.spawn(Fresh) as unknown as { tell(m: string): void; ask(m: string): Promise<unknown> }
    for (let i = 0; i < 1000; i++) ref.tell(`made-up-${i}`)
    expect(await ref.ask('speak')).toBe('woof')
    // White-box: the cache hangs off the class under a symbol (see runtime/cell/Dispatch.ts).
    const symbol = Object.getOwnPropertySymbols(Fresh).find((s) => s.description === 'troupe.handlers') as symbol
    const cache = (Fresh as unknown as Record<symbol, { byMethod: Map<string, unknown> }>)[symbol]
    expect([...(cache?.byMethod.keys() ?? [])]).toEqual(['speak'])
  })

  it('any sequence of method names answers as a fresh lookup would (property)', async () => {
    const system = newSystem()
    const refs = { dog: system.spawn(Dog), puppy: system.spawn(Puppy) }
    const expected: Record<'dog' | 'puppy', Record<string, string | null>> = {
      dog: { speak: 'woof', name: 'dog', preRestart: null, nope: null },
      puppy: { speak: 'yip', name: 'dog', preRestart: null, nope: null },
    }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('dog' as const, 'puppy' as const), fc.constantFrom('speak', 'name', 'preRestart', 'nope')), { maxLength: 20 }), async (calls) => {
        for (const [who, method] of calls) {
          const ref = refs[who] as unknown as { ask(m: string): Promise<unknown> }
          const answer = await ref.ask(method).catch((e: unknown) => errorCode(e))
          const want = expected[who][method]
          expect(answer).toBe(want ?? ErrorCodes.UnknownMethod)
        }
      }),
      { numRuns: 50 },
    )
  })
})
