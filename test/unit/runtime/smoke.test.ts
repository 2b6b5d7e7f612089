import { describe, expect, it } from 'vitest'
import { Actor, ActorSystem } from '../../../runtime/index.ts'

interface CounterProtocol {
  inc(by: number): void
  get(): number
  slowGet(): Promise<number>
}
class Counter extends Actor<CounterProtocol> implements CounterProtocol {
  private n = 0
  inc(by: number) {
    this.n += by
  }
  get() {
    return this.n
  }
  async slowGet() {
    await Promise.resolve()
    return this.n
  }
}

describe('smoke', () => {
  it('tell then ask', async () => {
    const system = ActorSystem.create({ name: 'smoke' })
    const counter = system.spawn(Counter, { name: 'counter' })
    counter.tell('inc', 2)
    counter.tell('inc', 3)
    const n: number = await counter.ask('get')
    expect(n).toBe(5)
    expect(await counter.ask('slowGet')).toBe(5)
    expect(counter.path).toBe('/user/counter')
    await system.terminate()
    expect(system.isTerminated).toBe(true)
  })
})
