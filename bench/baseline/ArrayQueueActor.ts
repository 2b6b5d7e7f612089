/**
 * The "minimal actor" every core figure is compared against: a JS array mailbox, one drain per
 * burst on a microtask, handlers looked up by method name, ask as a promise. No supervision, no
 * bounds, no ids, no timeouts: it is the floor of what an actor costs on this event loop.
 */
interface Message {
  method: string
  args: unknown[]
  resolve: ((value: unknown) => void) | null
  reject: ((error: unknown) => void) | null
}

export class ArrayQueueActor {
  private queue: Message[] = []
  private scheduled = false

  tell(method: string, ...args: unknown[]): void {
    this.post({ method, args, resolve: null, reject: null })
  }

  ask<R>(method: string, ...args: unknown[]): Promise<R> {
    return new Promise<R>((resolve, reject) => this.post({ method, args, resolve: resolve as (value: unknown) => void, reject }))
  }

  private post(message: Message): void {
    this.queue.push(message)
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => this.drain())
  }

  private drain(): void {
    // Swap the array so messages posted by handlers land in the next drain: push/iterate, no shift().
    const batch = this.queue
    this.queue = []
    this.scheduled = false
    const handlers = this as unknown as Record<string, (...args: unknown[]) => unknown>
    for (const message of batch) {
      try {
        const result = (handlers[message.method] as (...args: unknown[]) => unknown).apply(this, message.args)
        if (message.resolve !== null) message.resolve(result)
      } catch (error) {
        if (message.reject !== null) message.reject(error)
      }
    }
  }
}
