import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  Actor,
  ActorStoppedError,
  AskTimeoutError,
  ErrorCodes,
  InvalidArgumentError,
  UnknownActorError,
  UnknownMethodError,
  type ActorRef,
} from '../../../runtime/index.ts'
import { ManualClock, pendingAfterAskDeadlines } from './support/ManualClock.ts'
import { collectDeadLetters, deferred, settle, tick, track, useSystems, waitFor, type Deferred } from './support/helpers.ts'

interface EchoProtocol {
  echo(value: string): string
  fail(message: string): void
  failAsync(message: string): Promise<void>
  /** Replies once the gate opens. */
  slow(value: string): Promise<string>
  asks(target: ActorRef<EchoProtocol>, value: string): Promise<string>
  header(name: string): string | null
  senderPath(): string | null
}

class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  private readonly gate: { current: Deferred<void> }
  constructor(gate: { current: Deferred<void> }) {
    super()
    this.gate = gate
  }
  echo(value: string): string {
    return value
  }
  fail(message: string): void {
    throw new Error(message)
  }
  async failAsync(message: string): Promise<void> {
    await Promise.resolve()
    throw new Error(message)
  }
  async slow(value: string): Promise<string> {
    await this.gate.current.promise
    return value
  }
  /** An actor asking another actor: the reply is routed back to this handler. */
  asks(target: ActorRef<EchoProtocol>, value: string): Promise<string> {
    return target.ask('echo', value)
  }
  header(name: string): string | null {
    return this.context.headers?.[name] ?? null
  }
  senderPath(): string | null {
    return this.context.sender?.path ?? null
  }
}

const newSystem = useSystems()

function setup(options: { askTimeoutMs?: number } = {}) {
  const clock = new ManualClock()
  const system = newSystem({ clock, ...options })
  const gate = { current: deferred() }
  const ref = system.spawn(Echo, { args: [gate] })
  return { clock, system, gate, ref }
}

describe('ask', () => {
  it('resolves with the handler return value, sync or async, from plain code and from actors', async () => {
    const { system, ref, gate } = setup()
    const other = system.spawn(Echo, { args: [gate] })
    expect(await ref.ask('echo', 'hi')).toBe('hi')
    gate.current.resolve()
    expect(await ref.ask('slow', 'later')).toBe('later')
    expect(await other.ask('asks', ref, 'relayed')).toBe('relayed')
  })

  it('carries headers to the handler, and the asking actor as the sender', async () => {
    const { system, ref, gate } = setup()
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    expect(await ref.askWith({ headers: { traceparent } }, 'header', 'traceparent')).toBe(traceparent)
    expect(await ref.ask('senderPath')).toBeNull()
    class Asker extends Actor<{ run(target: ActorRef<EchoProtocol>): Promise<string | null> }> {
      run(target: ActorRef<EchoProtocol>): Promise<string | null> {
        return target.ask('senderPath')
      }
    }
    const asker = system.spawn(Asker, { name: 'asker' })
    expect(await asker.ask('run', ref)).toBe('/user/asker')
    gate.current.resolve()
  })

  it('times out after the system default (5000 ms) with ERR_ASK_TIMEOUT', async () => {
    const { clock, ref, gate } = setup()
    const reply = track(ref.ask('slow', 'never'))
    clock.advance(4999)
    await settle()
    expect(reply.settled).toBe(false)
    clock.advance(1)
    await waitFor(() => reply.settled, 'timeout')
    expect(reply.error).toBeInstanceOf(AskTimeoutError)
    expect(reply.error).toMatchObject({ code: ErrorCodes.AskTimeout, data: { method: 'slow', timeoutMs: 5000 } })
    gate.current.resolve()
  })

  it('uses the configured system default', async () => {
    const { clock, ref, gate } = setup({ askTimeoutMs: 200 })
    const reply = track(ref.ask('slow', 'never'))
    clock.advance(199)
    await settle()
    expect(reply.settled).toBe(false)
    clock.advance(1)
    await waitFor(() => reply.settled, 'timeout')
    expect(reply.error).toMatchObject({ code: 'ERR_ASK_TIMEOUT' })
    gate.current.resolve()
  })

  it('takes a per-ask timeout', async () => {
    const { clock, ref, gate } = setup({ askTimeoutMs: 10_000 })
    const short = track(ref.askWith({ timeoutMs: 50 }, 'slow', 'a'))
    const long = track(ref.askWith({ timeoutMs: 500 }, 'slow', 'b'))
    clock.advance(50)
    await waitFor(() => short.settled, 'short timeout')
    expect(short.error).toBeInstanceOf(AskTimeoutError)
    expect(long.settled).toBe(false)
    clock.advance(450)
    await waitFor(() => long.settled, 'long timeout')
    expect(long.error).toBeInstanceOf(AskTimeoutError)
    gate.current.resolve()
  })

  it('rejects a non-positive timeout', async () => {
    const { ref } = setup()
    await expect(ref.askWith({ timeoutMs: 0 }, 'echo', 'x')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(ref.askWith({ timeoutMs: Number.NaN }, 'echo', 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  it('a reply cancels its timeout timer', async () => {
    const { clock, ref, system } = setup()
    expect(await ref.ask('echo', 'x')).toBe('x')
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
  })

  it('fails fast with ERR_ACTOR_STOPPED when the target has stopped', async () => {
    const { clock, system, ref } = setup()
    await system.stop(ref)
    // The clock never moves: the rejection cannot be a timeout.
    await expect(ref.ask('echo', 'x')).rejects.toBeInstanceOf(ActorStoppedError)
    await expect(ref.ask('echo', 'x')).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
  })

  it('fails queued asks with ERR_ACTOR_STOPPED when the target stops before handling them', async () => {
    const { system, ref } = setup()
    const queued = ref.ask('echo', 'x')
    await system.stop(ref)
    await expect(queued).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
  })

  it('fails fast with ERR_UNKNOWN_ACTOR for an address no transport can reach', async () => {
    const { system, ref } = setup()
    const elsewhere = system.refFor<EchoProtocol>({ ...ref.address, node: 'other-node' })
    await expect(elsewhere.ask('echo', 'x')).rejects.toBeInstanceOf(UnknownActorError)
    await expect(elsewhere.ask('echo', 'x')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_ACTOR' })
  })

  it('rejects with ERR_UNKNOWN_METHOD for a method the actor lacks or a lifecycle hook', async () => {
    const { system, ref } = setup()
    const letters = collectDeadLetters(system)
    const loose = ref as ActorRef<any>
    await expect(loose.ask('nope')).rejects.toBeInstanceOf(UnknownMethodError)
    await expect(loose.ask('preStart')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_METHOD' })
    await expect(loose.ask('constructor')).rejects.toMatchObject({ code: 'ERR_UNKNOWN_METHOD' })
    expect(letters.map((l) => [l.envelope.method, l.reason])).toEqual([
      ['nope', 'unknown-method'],
      ['preStart', 'unknown-method'],
      ['constructor', 'unknown-method'],
    ])
    // Not a failure: the actor was not restarted and keeps serving.
    expect(await ref.ask('echo', 'still here')).toBe('still here')
  })

  it('rejects with the error the handler threw, sync or async', async () => {
    const { ref } = setup()
    const sync = ref.ask('fail', 'sync boom')
    await expect(sync).rejects.toThrow('sync boom')
    await expect(ref.ask('failAsync', 'async boom')).rejects.toThrow('async boom')
    const error = await sync.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
  })

  it('counts a late reply as a dead letter with reason late-reply', async () => {
    const { clock, system, ref, gate } = setup()
    const letters = collectDeadLetters(system)
    const reply = track(ref.askWith({ timeoutMs: 10 }, 'slow', 'late'))
    await settle()
    clock.advance(10)
    await waitFor(() => reply.settled, 'timeout')
    expect(reply.error).toBeInstanceOf(AskTimeoutError)
    expect(system.deadLetters.count).toBe(0)
    gate.current.resolve()
    await waitFor(() => system.deadLetters.count === 1, 'late reply dead-lettered')
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ reason: 'late-reply', envelope: { method: 'slow', args: ['late'] } })
  })
})

/**
 * How "nothing is retained" is shown: the test forces full GCs (V8's `gc`, made reachable with
 * `--expose-gc` set at run time plus a fresh vm context) and checks two things after 1e6 asks that
 * all time out and are then answered late:
 *  1. precise: WeakRefs to a sample of the ask payloads (each envelope's `args`) are all cleared, so
 *     no envelope, pending ask, timer or mailbox slot still points at them;
 *  2. coarse: the heap after GC grew by less than 8 bytes per ask over a warmed-up baseline, which
 *     catches retention of anything, not just the sampled payloads.
 * Plus the bookkeeping: every ask timed out, every late reply was counted, no timer is left armed.
 * The actor is held by one slow message while a chunk of asks queues behind it; the clock then
 * passes their timeout, and once the slow message completes each queued ask is answered, late.
 */
describe('ask retention', () => {
  interface LateProtocol {
    hold(): Promise<void>
    late(payload: { i: number }): string
  }
  class Late extends Actor<LateProtocol> implements LateProtocol {
    private readonly state: { gate: Promise<void>; holding: boolean }
    constructor(state: { gate: Promise<void>; holding: boolean }) {
      super()
      this.state = state
    }
    async hold(): Promise<void> {
      this.state.holding = true
      await this.state.gate
      this.state.holding = false
    }
    late(_payload: { i: number }): string {
      return 'too late'
    }
  }

  function exposeGc(): () => void {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  }

  async function fullGc(gc: () => void): Promise<void> {
    // WeakRef targets touched in this job stay alive until it ends: yield first, then collect twice.
    await tick()
    gc()
    await tick()
    gc()
  }

  it('1e6 timed-out asks leave nothing retained', { timeout: 60_000 }, async () => {
    const gc = exposeGc()
    const clock = new ManualClock()
    const system = newSystem({ clock })
    const state = { gate: Promise.resolve(), holding: false }
    const ref = system.spawn(Late, { args: [state], mailbox: { capacity: Infinity } })
    const TIMEOUT = 100
    const CHUNK = 50_000
    const TOTAL = 1_000_000
    const SAMPLE_EVERY = 1000
    let timedOut = 0
    let other = 0
    const onReply = (): void => {
      other++
    }
    const onError = (error: unknown): void => {
      if (error instanceof AskTimeoutError) timedOut++
      else other++
    }
    const samples: WeakRef<object>[] = []

    async function runChunk(first: number): Promise<void> {
      let open!: () => void
      state.gate = new Promise<void>((resolve) => (open = resolve))
      ref.tell('hold')
      await waitFor(() => state.holding, 'actor held', 20_000)
      for (let i = first; i < first + CHUNK; i++) {
        const payload = { i }
        if (i % SAMPLE_EVERY === 0) samples.push(new WeakRef(payload))
        ref.askWith({ timeoutMs: TIMEOUT }, 'late', payload).then(onReply, onError)
      }
      clock.advance(TIMEOUT)
      open()
      const done = first + CHUNK
      await waitFor(() => timedOut === done && system.deadLetters.count === done, 'chunk timed out and answered late', 20_000)
    }

    // A million AskTimeoutErrors: stack capture would dominate the run time, and stacks are not what
    // this test is about (a retained error would still show in the heap check).
    const stackTraceLimit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    onTestFinished(() => {
      Error.stackTraceLimit = stackTraceLimit
    })
    await runChunk(0) // warm-up: JIT, deque growth, heap layout
    samples.length = 0
    await fullGc(gc)
    const baseline = process.memoryUsage().heapUsed

    for (let first = CHUNK; first < TOTAL + CHUNK; first += CHUNK) await runChunk(first)

    expect(timedOut).toBe(TOTAL + CHUNK)
    expect(other).toBe(0)
    expect(system.deadLetters.count).toBe(TOTAL + CHUNK)
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)

    await fullGc(gc)
    const grown = process.memoryUsage().heapUsed - baseline
    const alive = samples.filter((sample) => sample.deref() !== undefined).length
    expect(samples.length).toBe(TOTAL / SAMPLE_EVERY)
    expect(alive).toBe(0)
    expect(grown).toBeLessThan(8 * TOTAL)
    expect(system.actorCount).toBe(1)
  })
})
