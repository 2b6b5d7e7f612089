import type { Worker } from 'node:worker_threads'
import type { ActorAddress, Clock, TimerHandle } from '../../runtime/index.ts'
import { ShardStartError } from './errors.ts'
import type { MainToShard, ShardToMain } from './ShardProtocol.ts'

export type ShardState = 'starting' | 'up' | 'down' | 'stopped'

/** How long a worker has to answer a request (stats, pending work, metrics). */
const REQUEST_TIMEOUT_MS = 2000

interface Waiter {
  readonly type: ShardToMain['type']
  readonly accept: ((message: ShardToMain) => boolean) | undefined
  readonly resolve: (message: ShardToMain) => void
  readonly reject: (error: Error) => void
}

/**
 * The main thread's side of one worker shard: its current Worker, state and restart budget, and the
 * control channel to it (messages out, waiters for the messages that come back).
 */
export class WorkerSlot {
  readonly shard: number
  worker: Worker | null = null
  state: ShardState = 'starting'
  agent: ActorAddress | null = null
  restarts = 0
  /** When recent restarts happened (main clock), for the restart budget. */
  readonly restartTimes: number[] = []
  lastError: Error | null = null
  /** A restart loop owns this slot: its exits are handled there, not by scheduling another restart. */
  restarting = false
  /** Waiters for the next message of a type (and passing `accept`) from the current worker. */
  private readonly waiters: Waiter[] = []
  private nextRequestId = 1
  private readonly clock: Clock

  constructor(shard: number, clock: Clock) {
    this.shard = shard
    this.clock = clock
  }

  post(message: MainToShard): void {
    this.worker?.postMessage(message)
  }

  /** Hands a message from the current worker to the first waiter for it; false when nobody waits. */
  deliver(message: ShardToMain): boolean {
    const index = this.waiters.findIndex((waiter) => waiter.type === message.type && (waiter.accept === undefined || waiter.accept(message)))
    if (index < 0) return false
    const [waiter] = this.waiters.splice(index, 1)
    waiter?.resolve(message)
    return true
  }

  /** The next message of `type` from the current worker; rejects on its exit, a start failure or the deadline. */
  awaitMessage(type: ShardToMain['type'], timeoutMs: number, accept?: (message: ShardToMain) => boolean): Promise<ShardToMain> {
    return new Promise<ShardToMain>((resolve, reject) => {
      let timer: TimerHandle | null = null
      const waiter: Waiter = {
        type,
        accept,
        resolve: (message) => {
          if (timer !== null) this.clock.clearTimer(timer)
          resolve(message)
        },
        reject: (error) => {
          if (timer !== null) this.clock.clearTimer(timer)
          reject(error)
        },
      }
      this.waiters.push(waiter)
      timer = this.clock.setTimer(timeoutMs, () => {
        const index = this.waiters.indexOf(waiter)
        if (index >= 0) this.waiters.splice(index, 1)
        reject(new ShardStartError(`shard ${this.shard} sent no '${type}' within ${timeoutMs} ms`, { data: { shard: this.shard, timeoutMs } }))
      })
    })
  }

  /** A request with an id to an up worker and its answer, or null (down, exited, or no answer within 2 s). */
  async request(type: 'stats' | 'pending' | 'metrics' | 'introspect', body?: unknown): Promise<ShardToMain | null> {
    if (this.state !== 'up' || this.worker === null) return null
    const id = this.nextRequestId++
    const reply = this.awaitMessage(type, REQUEST_TIMEOUT_MS, (message) => message.type === type && message.id === id)
    this.post(type === 'introspect' ? { type, id, request: body } : { type, id })
    try {
      return await reply
    } catch {
      return null
    }
  }

  rejectWaiters(error: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error)
  }
}
