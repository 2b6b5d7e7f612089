import { describe, expect, it } from 'vitest'
import { Actor, InvalidArgumentError, type ActorRef } from '../../../runtime/index.ts'
import { ManualClock, pendingAfterAskDeadlines } from './support/ManualClock.ts'
import { collectDeadLetters, deferred, settle, useSystems, waitFor, type Deferred } from './support/helpers.ts'

const newSystem = useSystems()

interface TimedProtocol {
  single(key: string, delayMs: number, label: string): void
  periodic(key: string, intervalMs: number, label: string): void
  cancel(key: string): void
  tick(label: string): void
  active(): string[]
  /** Blocks the actor until the gate opens, then cancels or replaces timer `key` before returning. */
  blockThen(action: 'cancel' | 'replace', key: string): Promise<void>
  receiveTimeout(ms: number): void
  cancelReceiveTimeout(): void
  idle(): void
  ping(): void
  crash(): void
}

class Timed extends Actor<TimedProtocol> implements TimedProtocol {
  private readonly log: string[]
  private readonly gate: { current: Deferred<void> }
  constructor(log: string[], gate: { current: Deferred<void> }) {
    super()
    this.log = log
    this.gate = gate
  }
  single(key: string, delayMs: number, label: string): void {
    this.context.timers.startSingle(key, delayMs, 'tick', label)
  }
  periodic(key: string, intervalMs: number, label: string): void {
    this.context.timers.startPeriodic(key, intervalMs, 'tick', label)
  }
  cancel(key: string): void {
    this.context.timers.cancel(key)
  }
  tick(label: string): void {
    this.log.push(label)
  }
  active(): string[] {
    return this.context.timers.activeKeys
  }
  async blockThen(action: 'cancel' | 'replace', key: string): Promise<void> {
    this.log.push('blocked')
    await this.gate.current.promise
    if (action === 'cancel') this.context.timers.cancel(key)
    else this.context.timers.startSingle(key, 50, 'tick', 'fresh')
  }
  receiveTimeout(ms: number): void {
    this.context.setReceiveTimeout(ms, 'idle')
  }
  cancelReceiveTimeout(): void {
    this.context.cancelReceiveTimeout()
  }
  idle(): void {
    this.log.push(`idle@${this.context.system.clock.now()}`)
  }
  ping(): void {}
  crash(): void {
    throw new Error('crash')
  }
}

function setup() {
  const clock = new ManualClock()
  const system = newSystem({ clock })
  const log: string[] = []
  const gate = { current: deferred() }
  const ref = system.spawn(Timed, { args: [log, gate] })
  return { clock, system, log, gate, ref }
}

/** Advances the clock, then lets the actor handle whatever the timers queued. */
async function advance(clock: ManualClock, ref: ActorRef<TimedProtocol>, ms: number): Promise<void> {
  clock.advance(ms)
  // An ask queued after the timer messages returns once they have been handled.
  await ref.ask('ping')
}

describe('Timers', () => {
  it('startSingle sends once after the delay', async () => {
    const { clock, log, ref } = setup()
    await ref.ask('single', 'k', 100, 'once')
    await advance(clock, ref, 99)
    expect(log).toEqual([])
    await advance(clock, ref, 1)
    expect(log).toEqual(['once'])
    await advance(clock, ref, 1000)
    expect(log).toEqual(['once'])
    expect(await ref.ask('active')).toEqual([])
  })

  it('startPeriodic sends at a fixed rate until cancelled', async () => {
    const { clock, log, ref, system } = setup()
    await ref.ask('periodic', 'p', 10, 'p')
    await advance(clock, ref, 10)
    expect(log).toEqual(['p'])
    await advance(clock, ref, 30)
    expect(log).toEqual(['p', 'p', 'p', 'p'])
    expect(await ref.ask('active')).toEqual(['p'])
    await ref.ask('cancel', 'p')
    await advance(clock, ref, 100)
    expect(log).toHaveLength(4)
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
  })

  it('rejects a non-positive period and a negative delay', async () => {
    const { ref } = setup()
    await expect(ref.ask('periodic', 'p', 0, 'x')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(ref.ask('single', 's', -1, 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
  })

  it('cancel stops a single timer before it fires', async () => {
    const { clock, log, ref, system } = setup()
    await ref.ask('single', 'k', 100, 'never')
    await ref.ask('cancel', 'k')
    await advance(clock, ref, 200)
    expect(log).toEqual([])
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
  })

  it('starting an active key replaces it', async () => {
    const { clock, log, ref, system } = setup()
    await ref.ask('single', 'k', 100, 'first')
    await ref.ask('single', 'k', 200, 'second')
    await advance(clock, ref, 150)
    expect(log).toEqual([])
    await advance(clock, ref, 50)
    expect(log).toEqual(['second'])
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
  })

  it("a cancelled timer's already-queued message is not handled", async () => {
    const { clock, log, gate, ref } = setup()
    await ref.ask('single', 'k', 100, 'stale')
    ref.tell('blockThen', 'cancel', 'k')
    await waitFor(() => log.includes('blocked'), 'actor blocked')
    clock.advance(100) // fires: the message is queued behind the blocked handler
    gate.current.resolve() // the handler cancels the key before the queued firing is handled
    await ref.ask('ping')
    expect(log).toEqual(['blocked'])
  })

  it("a replaced timer's already-queued message is not handled", async () => {
    const { clock, log, gate, ref } = setup()
    await ref.ask('single', 'k', 100, 'stale')
    ref.tell('blockThen', 'replace', 'k')
    await waitFor(() => log.includes('blocked'), 'actor blocked')
    clock.advance(100)
    gate.current.resolve()
    await ref.ask('ping')
    expect(log).toEqual(['blocked'])
    await advance(clock, ref, 50)
    expect(log).toEqual(['blocked', 'fresh'])
  })

  it('timers are cancelled when the actor stops', async () => {
    const { clock, system, log, ref } = setup()
    const letters = collectDeadLetters(system)
    await ref.ask('single', 's', 100, 'single')
    await ref.ask('periodic', 'p', 10, 'periodic')
    await system.stop(ref)
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
    clock.advance(1000)
    await settle()
    expect(log).toEqual([])
    expect(letters).toEqual([])
  })

  it('timers are cancelled when the actor restarts', async () => {
    const { clock, log, ref, system } = setup()
    await ref.ask('single', 's', 100, 'single')
    await ref.ask('periodic', 'p', 10, 'periodic')
    ref.tell('crash')
    expect(await ref.ask('active')).toEqual([])
    expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
    await advance(clock, ref, 1000)
    expect(log).toEqual([])
  })

  describe('receive timeout', () => {
    it('fires after the actor has been idle for the timeout, and again after each further idle period', async () => {
      const { clock, log, ref } = setup()
      await ref.ask('receiveTimeout', 100)
      clock.advance(99)
      await settle()
      expect(log).toEqual([])
      clock.advance(1)
      await waitFor(() => log.length === 1, 'idle')
      expect(log).toEqual(['idle@100'])
      clock.advance(100)
      await waitFor(() => log.length === 2, 'idle again')
      expect(log).toEqual(['idle@100', 'idle@200'])
    })

    it('is reset by every user message', async () => {
      const { clock, log, ref } = setup()
      await ref.ask('receiveTimeout', 100)
      for (let i = 0; i < 5; i++) {
        clock.advance(60)
        await ref.ask('ping')
      }
      expect(log).toEqual([])
      clock.advance(100)
      await waitFor(() => log.length === 1, 'idle')
      expect(log).toEqual(['idle@400'])
    })

    it("is not reset by the actor's own timer messages", async () => {
      const { clock, log, ref } = setup()
      await ref.ask('receiveTimeout', 100)
      await ref.ask('periodic', 'p', 30, 'tick')
      clock.advance(100)
      await waitFor(() => log.includes('idle@100'), 'idle')
      expect(log).toEqual(['tick', 'tick', 'tick', 'idle@100'])
    })

    it('is cancelled on restart', async () => {
      const { clock, log, ref, system } = setup()
      await ref.ask('receiveTimeout', 100)
      ref.tell('crash')
      await ref.ask('ping')
      expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
      clock.advance(500)
      await ref.ask('ping')
      expect(log).toEqual([])
    })

    it('can be cancelled', async () => {
      const { clock, log, ref, system } = setup()
      await ref.ask('receiveTimeout', 100)
      await ref.ask('cancelReceiveTimeout')
      clock.advance(500)
      await ref.ask('ping')
      expect(log).toEqual([])
      expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
    })

    it('is cancelled on stop', async () => {
      const { clock, system, ref } = setup()
      await ref.ask('receiveTimeout', 100)
      await system.stop(ref)
      expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
    })
  })
})
