/** A typed topic name: `topic<OrderPlaced>('orders.placed')`. */
export interface Topic<T> {
  readonly name: string
  /** Phantom field carrying the event type; never set. */
  readonly __event?: T
}

export function topic<T>(name: string): Topic<T> {
  return { name }
}

export type EventListener<T> = (event: T) => void

/** A subscription; `unsubscribe` is idempotent. */
export interface Subscription {
  unsubscribe(): void
}

/**
 * Publish/subscribe by topic within one actor system. A listener that throws is isolated: the error
 * is reported through `onListenerError` and the other listeners still get the event.
 * Actors subscribe through their context so they are unsubscribed automatically when they stop.
 */
export class EventStream {
  private readonly listeners = new Map<string, Set<EventListener<any>>>()
  private readonly onListenerError: (error: unknown, topic: string) => void

  constructor(onListenerError: (error: unknown, topic: string) => void = () => {}) {
    this.onListenerError = onListenerError
  }

  publish<T>(topic: Topic<T>, event: T): void {
    const set = this.listeners.get(topic.name)
    if (set === undefined) return
    for (const listener of set) {
      try {
        listener(event)
      } catch (error) {
        this.onListenerError(error, topic.name)
      }
    }
  }

  subscribe<T>(topic: Topic<T>, listener: EventListener<T>): Subscription {
    let set = this.listeners.get(topic.name)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(topic.name, set)
    }
    set.add(listener)
    return {
      unsubscribe: () => {
        const current = this.listeners.get(topic.name)
        if (current === undefined) return
        current.delete(listener)
        if (current.size === 0) this.listeners.delete(topic.name)
      },
    }
  }

  hasSubscribers(topic: Topic<any>): boolean {
    return this.listeners.has(topic.name)
  }

  subscriberCount(topic: Topic<any>): number {
    return this.listeners.get(topic.name)?.size ?? 0
  }
}
