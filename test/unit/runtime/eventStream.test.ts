import { describe, expect, it } from 'vitest'
import { Actor, EventStream, topic } from '../../../runtime/index.ts'
import { useSystems, waitFor } from './support/helpers.ts'

const newSystem = useSystems()

interface OrderPlaced {
  readonly id: string
}
const OrderPlacedTopic = topic<OrderPlaced>('orders.placed')
const OtherTopic = topic<number>('other')

interface ListenerProtocol {
  onOrder(event: OrderPlaced): void
  subscribe(): void
  unsubscribe(): void
  seen(): string[]
}
class Listener extends Actor<ListenerProtocol> implements ListenerProtocol {
  private readonly ids: string[] = []
  override preStart(): void {
    this.context.subscribe(OrderPlacedTopic, 'onOrder')
  }
  onOrder(event: OrderPlaced): void {
    this.ids.push(event.id)
  }
  subscribe(): void {
    this.context.subscribe(OrderPlacedTopic, 'onOrder')
  }
  unsubscribe(): void {
    this.context.unsubscribe(OrderPlacedTopic)
  }
  seen(): string[] {
    return this.ids
  }
}

describe('EventStream', () => {
  it('delivers events to the subscribers of their topic only', () => {
    const stream = new EventStream()
    const orders: OrderPlaced[] = []
    const numbers: number[] = []
    stream.subscribe(OrderPlacedTopic, (event) => orders.push(event))
    stream.subscribe(OtherTopic, (event) => numbers.push(event))
    stream.publish(OrderPlacedTopic, { id: 'o1' })
    stream.publish(OtherTopic, 7)
    expect(orders).toEqual([{ id: 'o1' }])
    expect(numbers).toEqual([7])
  })

  it('unsubscribe is idempotent and drops the topic once empty', () => {
    const stream = new EventStream()
    const seen: string[] = []
    const subscription = stream.subscribe(OrderPlacedTopic, (event) => seen.push(event.id))
    expect(stream.subscriberCount(OrderPlacedTopic)).toBe(1)
    subscription.unsubscribe()
    subscription.unsubscribe()
    stream.publish(OrderPlacedTopic, { id: 'ignored' })
    expect(seen).toEqual([])
    expect(stream.hasSubscribers(OrderPlacedTopic)).toBe(false)
  })

  it('a throwing listener is isolated and reported; the others still get the event', () => {
    const reported: [unknown, string][] = []
    const stream = new EventStream((error, name) => reported.push([error, name]))
    const seen: string[] = []
    stream.subscribe(OrderPlacedTopic, () => {
      throw new Error('listener bug')
    })
    stream.subscribe(OrderPlacedTopic, (event) => seen.push(event.id))
    stream.publish(OrderPlacedTopic, { id: 'o1' })
    expect(seen).toEqual(['o1'])
    expect(reported).toHaveLength(1)
    expect(reported[0]?.[1]).toBe('orders.placed')
  })

  it('system.publish/subscribe; throwing listeners go to onInternalError', () => {
    const internal: string[] = []
    const system = newSystem({ onInternalError: (_error, where) => internal.push(where) })
    const seen: string[] = []
    system.subscribe(OrderPlacedTopic, () => {
      throw new Error('x')
    })
    const subscription = system.subscribe(OrderPlacedTopic, (event) => seen.push(event.id))
    system.publish(OrderPlacedTopic, { id: 'a' })
    subscription.unsubscribe()
    system.publish(OrderPlacedTopic, { id: 'b' })
    expect(seen).toEqual(['a'])
    expect(internal).toEqual(['event listener on orders.placed', 'event listener on orders.placed'])
  })

  it('context.subscribe delivers events as messages to the actor', async () => {
    const system = newSystem()
    const ref = system.spawn(Listener)
    // preStart (which subscribes) runs on the dispatcher, not inside spawn.
    await waitFor(() => system.eventStream.hasSubscribers(OrderPlacedTopic), 'subscribed')
    system.publish(OrderPlacedTopic, { id: 'o1' })
    system.publish(OrderPlacedTopic, { id: 'o2' })
    expect(await ref.ask('seen')).toEqual(['o1', 'o2'])
  })

  it('context.unsubscribe stops delivery; subscribing twice does not deliver twice', async () => {
    const system = newSystem()
    const ref = system.spawn(Listener)
    await ref.ask('subscribe')
    expect(system.eventStream.subscriberCount(OrderPlacedTopic)).toBe(1)
    system.publish(OrderPlacedTopic, { id: 'once' })
    await ref.ask('unsubscribe')
    system.publish(OrderPlacedTopic, { id: 'never' })
    expect(await ref.ask('seen')).toEqual(['once'])
  })

  it('an actor is unsubscribed automatically when it stops', async () => {
    const system = newSystem()
    const ref = system.spawn(Listener)
    await waitFor(() => system.eventStream.subscriberCount(OrderPlacedTopic) === 1, 'subscribed')
    await system.stop(ref)
    expect(system.eventStream.subscriberCount(OrderPlacedTopic)).toBe(0)
    system.publish(OrderPlacedTopic, { id: 'after' })
    expect(system.deadLetters.count).toBe(0)
  })
})
