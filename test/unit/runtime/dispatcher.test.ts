import { stat } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { Actor, RealScheduler, type Runnable } from '../../../runtime/index.ts'
import { deferred, settle, useSystems, waitFor, type Deferred } from './support/helpers.ts'

interface LoggerProtocol {
  log(entry: string): void
}
class Logger extends Actor<LoggerProtocol> implements LoggerProtocol {
  private readonly sink: string[]
  constructor(sink: string[]) {
    super()
    this.sink = sink
  }
  log(entry: string): void {
    this.sink.push(entry)
  }
}

interface SpinnerProtocol {
  spin(): void
}
/** Keeps a one-message backlog forever: every message sends the next, until told to halt. */
class Spinner extends Actor<SpinnerProtocol> implements SpinnerProtocol {
  private readonly state: { handled: number; halt: boolean }
  constructor(state: { handled: number; halt: boolean }) {
    super()
    this.state = state
  }
  spin(): void {
    this.state.handled++
    if (!this.state.halt) this.self.tell('spin')
  }
}

interface WorkerProtocol {
  work(id: string): Promise<string>
  quick(id: string): string
}
class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  private readonly log: string[]
  private readonly gates: Map<string, Deferred<void>>
  constructor(log: string[], gates: Map<string, Deferred<void>>) {
    super()
    this.log = log
    this.gates = gates
  }
  async work(id: string): Promise<string> {
    this.log.push(`start ${id}`)
    await this.gates.get(id)?.promise
    this.log.push(`end ${id}`)
    return id
  }
  quick(id: string): string {
    this.log.push(`quick ${id}`)
    return id
  }
}

const newSystem = useSystems()

describe('Dispatcher', () => {
  it('handles up to `throughput` messages per actor per turn, so actors with mail interleave in batches', async () => {
    const system = newSystem({ throughput: 3 })
    const log: string[] = []
    const a = system.spawn(Logger, { args: [log] })
    const b = system.spawn(Logger, { args: [log] })
    for (let i = 1; i <= 7; i++) a.tell('log', `a${i}`)
    for (let i = 1; i <= 7; i++) b.tell('log', `b${i}`)
    await waitFor(() => log.length === 14, 'all handled')
    expect(log).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'a4', 'a5', 'a6', 'b4', 'b5', 'b6', 'a7', 'b7'])
  })

  it('uses the throughput of an injected scheduler', async () => {
    const system = newSystem({ scheduler: new RealScheduler({ throughput: 2 }) })
    const log: string[] = []
    const a = system.spawn(Logger, { args: [log] })
    const b = system.spawn(Logger, { args: [log] })
    for (let i = 1; i <= 3; i++) a.tell('log', `a${i}`)
    for (let i = 1; i <= 3; i++) b.tell('log', `b${i}`)
    await waitFor(() => log.length === 6, 'all handled')
    expect(log).toEqual(['a1', 'a2', 'b1', 'b2', 'a3', 'b3'])
  })

  it('does not starve the event loop while an actor always has mail', async () => {
    const system = newSystem()
    const state = { handled: 0, halt: false }
    const spinner = system.spawn(Spinner, { args: [state] })
    spinner.tell('spin')
    // Each of these only runs if the dispatcher yields to the event loop: immediate, timer and I/O phases.
    const seen: Record<string, number> = {}
    setImmediate(() => (seen['immediate'] = state.handled))
    setTimeout(() => (seen['timer'] = state.handled), 0)
    stat('.', () => (seen['io'] = state.handled))
    await waitFor(() => Object.keys(seen).length === 3, 'host callbacks while the actor spins')
    state.halt = true
    // The callbacks ran while the actor was still busy: it had handled messages and kept going.
    expect(seen['immediate']).toBeGreaterThan(0)
    expect(seen['io']).toBeGreaterThan(0)
    const atHalt = state.handled
    await settle()
    expect(state.handled - atHalt).toBeLessThanOrEqual(1)
  })

  it('a scheduler slice ends on its turn budget even when the clock does not move', async () => {
    // Drive RealScheduler directly with tasks that always have work: only the turn cap ends a slice.
    const scheduler = new RealScheduler({ throughput: 1, sliceMs: Number.POSITIVE_INFINITY, maxTurnsPerSlice: 128 })
    let runs = 0
    let stop = false
    const task: Runnable = {
      run: () => {
        runs++
        return !stop
      },
    }
    scheduler.schedule(task)
    let immediateRanAt = -1
    setImmediate(() => (immediateRanAt = runs))
    await waitFor(() => immediateRanAt >= 0, 'setImmediate between slices')
    stop = true
    expect(immediateRanAt).toBeGreaterThan(0)
    expect(immediateRanAt).toBeLessThanOrEqual(256)
  })

  it('runs deferred callbacks within 8 turns of a long drain, not only when its slice ends', async () => {
    const scheduler = new RealScheduler({ throughput: 1, sliceMs: Number.POSITIVE_INFINITY, maxTurnsPerSlice: 10_000 })
    let runs = 0
    let flushedAt = -1
    const task: Runnable = {
      run: () => {
        if (++runs === 3) scheduler.defer(() => (flushedAt = runs))
        return runs < 1000
      },
    }
    scheduler.schedule(task)
    await waitFor(() => runs === 1000, 'the long drain')
    expect(flushedAt).toBeGreaterThanOrEqual(3)
    expect(flushedAt).toBeLessThanOrEqual(8)
  })

  it('a deferred callback that throws does not skip the others, and a task it schedules still runs', async () => {
    const scheduler = new RealScheduler()
    const order: string[] = []
    const reported: unknown[] = []
    const onError = (error: unknown): void => {
      reported.push(error)
    }
    process.on('uncaughtException', onError)
    try {
      const late: Runnable = {
        run: () => {
          order.push('late task')
          return false
        },
      }
      scheduler.schedule({
        run: () => {
          order.push('task')
          scheduler.defer(() => {
            throw new Error('deferred boom')
          })
          scheduler.defer(() => {
            order.push('deferred')
            scheduler.schedule(late)
          })
          return false
        },
      })
      await waitFor(() => order.length === 3 && reported.length === 1, 'the deferred work')
      expect(order).toEqual(['task', 'deferred', 'late task'])
      expect(reported).toMatchObject([{ message: 'deferred boom' }])
    } finally {
      process.off('uncaughtException', onError)
    }
  })

  it('tasks that deferred callbacks keep scheduling still let I/O run (one slice budget for both)', async () => {
    const scheduler = new RealScheduler({ throughput: 1, sliceMs: Number.POSITIVE_INFINITY, maxTurnsPerSlice: 64 })
    let runs = 0
    let stop = false
    // Each turn defers a callback that schedules the task again: a cycle through the deferred queue.
    const task: Runnable = {
      run: () => {
        runs++
        if (!stop) scheduler.defer(() => scheduler.schedule(task))
        return false
      },
    }
    scheduler.schedule(task)
    let immediateRanAt = -1
    setImmediate(() => (immediateRanAt = runs))
    await waitFor(() => immediateRanAt >= 0, 'setImmediate while the cycle runs')
    stop = true
    expect(immediateRanAt).toBeGreaterThan(0)
    expect(immediateRanAt).toBeLessThanOrEqual(128)
  })

  it('replies to sync and async handlers alike', async () => {
    const system = newSystem()
    const ref = system.spawn(Worker, { args: [[], new Map()] })
    expect(await ref.ask('quick', 'sync')).toBe('sync')
    expect(await ref.ask('work', 'async')).toBe('async')
  })

  it('is turn-based: the next message waits until an async handler settles', async () => {
    const system = newSystem()
    const log: string[] = []
    const gate = deferred()
    const ref = system.spawn(Worker, { args: [log, new Map([['slow', gate]])] })
    const slow = ref.ask('work', 'slow')
    const quick = ref.ask('quick', 'next')
    await waitFor(() => log.length === 1, 'slow started')
    await settle()
    expect(log).toEqual(['start slow'])
    gate.resolve()
    expect(await quick).toBe('next')
    expect(await slow).toBe('slow')
    expect(log).toEqual(['start slow', 'end slow', 'quick next'])
  })

  it('reentrant: the next message starts while an async handler is pending', async () => {
    const system = newSystem()
    const log: string[] = []
    const gate = deferred()
    const ref = system.spawn(Worker, { args: [log, new Map([['slow', gate]])], reentrant: true })
    const slow = ref.ask('work', 'slow')
    expect(await ref.ask('quick', 'next')).toBe('next')
    expect(log).toEqual(['start slow', 'quick next'])
    gate.resolve()
    expect(await slow).toBe('slow')
    expect(log).toEqual(['start slow', 'quick next', 'end slow'])
  })

  it('keeps an error thrown by a handler inside the dispatcher', async () => {
    interface P {
      boom(): void
      ok(): string
    }
    class Boom extends Actor<P> implements P {
      boom(): void {
        throw new Error('boom')
      }
      ok(): string {
        return 'ok'
      }
    }
    const system = newSystem()
    const ref = system.spawn(Boom)
    ref.tell('boom')
    ref.tell('boom')
    // No uncaught exception reaches the host (vitest would report it); the actor keeps serving.
    expect(await ref.ask('ok')).toBe('ok')
  })
})
