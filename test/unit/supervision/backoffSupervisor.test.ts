/**
 * Pekko BackoffSupervisorSpec and Akka typed SupervisionSpec (restartWithBackoff) cases, on a
 * virtual clock: forwarding, onStop / onFailure, stash while backing off (and its overflow to dead
 * letters), replyWhileStopped, withStopChildren(false), maxNrOfRetries, and the delay formula.
 */
import { describe, expect, it } from 'vitest'
import { Actor, DeadLetterTopic, errorCode, type ActorRef, type DeadLetter } from '../../../runtime/index.ts'
import { backoffDelay, spawnBackoffSupervisor, type BackoffControlProtocol, type BackoffSupervisorOptions } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { testSystem } from './helpers.ts'

interface WorkerProtocol {
  add(n: number): void
  total(): number
  whoSent(): string
  crash(): void
  quit(): void
  spawnHelper(): void
  helperAlive(): boolean
}

class Worker extends Actor<WorkerProtocol> implements WorkerProtocol {
  private sum = 0
  private readonly log: string[]
  private readonly senders: string[]
  constructor(log: string[], senders: string[] = []) {
    super()
    this.log = log
    this.senders = senders
  }
  override preStart(): void {
    this.log.push('start')
  }
  add(n: number): void {
    this.sum += n
    this.log.push(`add ${n}`)
    this.senders.push(this.context.sender?.path ?? 'nobody')
  }
  total(): number {
    return this.sum
  }
  whoSent(): string {
    return this.context.sender?.path ?? 'nobody'
  }
  crash(): void {
    throw new Error('boom')
  }
  quit(): void {
    this.context.stop()
  }
  spawnHelper(): void {
    this.context.spawn(Helper, { name: 'helper' })
  }
  helperAlive(): boolean {
    return this.context.child('helper') !== undefined
  }
}

class Helper extends Actor<{ ping(): string }> {
  ping(): string {
    return 'pong'
  }
}

/** Sends `add` through the backoff ref from inside an actor, so the sender is an actor. */
class Sender extends Actor<{ send(to: ActorRef<WorkerProtocol>): void }> {
  send(to: ActorRef<WorkerProtocol>): void {
    to.tell('add', 1)
  }
}

function setup(options: Partial<BackoffSupervisorOptions<typeof Worker>> = {}) {
  const t = testSystem()
  const log: string[] = []
  const senders: string[] = []
  const ref = spawnBackoffSupervisor(t.system, { child: { actor: Worker, args: [log, senders] }, minBackoffMs: 100, maxBackoffMs: 1000, ...options }, { name: 'backoff' })
  const control = ref as unknown as ActorRef<BackoffControlProtocol>
  const dead: DeadLetter[] = []
  t.system.subscribe(DeadLetterTopic, (d) => dead.push(d))
  return { ...t, ref, control, log, dead, senders }
}

describe('BackoffSupervisor (Pekko)', () => {
  it('forward messages to the child: tells keep their sender, asks are answered', async () => {
    const { system, ref, control, senders } = setup()
    ref.tell('add', 2)
    expect(await ref.ask('total')).toBe(2)
    const sender = system.spawn(Sender, { name: 'sender' })
    sender.tell('send', ref)
    await waitFor(() => senders.length === 2)
    expect(senders).toEqual(['nobody', '/user/sender'])
    expect(await ref.ask('total')).toBe(3)
    const child = (await control.ask('$currentChild')) as ActorRef<WorkerProtocol>
    expect(child.path).toBe('/user/backoff/child')
  })

  it('start child again when it stops when using Backoff.onStop', async () => {
    const { clock, ref, control, log, ofType } = setup({ mode: 'on-stop' })
    const first = await control.ask('$currentChild')
    ref.tell('quit')
    await waitFor(() => ofType('restart-scheduled').length === 1)
    expect(ofType('restart-scheduled')[0]).toMatchObject({ delayMs: 100, attempt: 0 })
    clock.advance(100)
    await waitFor(() => log.filter((l) => l === 'start').length === 2)
    const second = await control.ask('$currentChild')
    expect(second?.equals(first)).toBe(false) // a new incarnation
    expect(await ref.ask('total')).toBe(0)
  })

  it('onFailure: restarts in place after the delay; a child that stops by itself stops the supervisor', async () => {
    const { system, clock, ref, control, ofType } = setup()
    const child = await control.ask('$currentChild')
    ref.tell('add', 5)
    ref.tell('crash')
    await waitFor(() => ofType('restart-scheduled').length === 1)
    clock.advance(100)
    await waitFor(() => ofType('child-restarted').length === 1)
    expect((await control.ask('$currentChild'))?.equals(child)).toBe(true) // same ref
    expect(await ref.ask('total')).toBe(0) // fresh instance
    const gone = system.watch(ref)
    ref.tell('quit')
    expect((await gone).reason.kind).toBe('normal')
  })

  it('stash messages while backing off and hand them over in order (Akka typed)', async () => {
    const { clock, ref, log, ofType } = setup()
    ref.tell('crash')
    await waitFor(() => ofType('restart-scheduled').length === 1)
    for (let i = 1; i <= 5; i++) ref.tell('add', i)
    const asked = ref.askWith({ timeoutMs: 60_000 }, 'total')
    await settle()
    expect(log.filter((l) => l.startsWith('add'))).toEqual([])
    clock.advance(100)
    expect(await asked).toBe(15)
    expect(log.filter((l) => l.startsWith('add'))).toEqual(['add 1', 'add 2', 'add 3', 'add 4', 'add 5'])
  })

  it('a full stash sends what does not fit to dead letters, reason stash-full; an ask gets ERR_BACKOFF_STASH_FULL', async () => {
    const { clock, ref, dead, log, ofType } = setup({ stashCapacity: 2 })
    ref.tell('crash')
    await waitFor(() => ofType('restart-scheduled').length === 1)
    for (let i = 1; i <= 4; i++) ref.tell('add', i)
    const refused = await ref.ask('total').catch((e: unknown) => e)
    expect(errorCode(refused)).toBe('ERR_BACKOFF_STASH_FULL')
    expect(dead.filter((d) => d.reason === 'stash-full').map((d) => d.envelope.method)).toEqual(['add', 'add', 'total'])
    clock.advance(100)
    await waitFor(() => log.filter((l) => l.startsWith('add')).length === 2)
    expect(await ref.ask('total')).toBe(3) // 1 + 2: every tell processed or reported, none twice
  })

  it('reply to sender if replyWhileStopped is specified', async () => {
    const { ref, ofType } = setup({ replyWhileStopped: { value: -1 } })
    ref.tell('crash')
    await waitFor(() => ofType('restart-scheduled').length === 1)
    expect(await ref.ask('total')).toBe(-1)
  })

  it('not stop children during restart if configured (Akka typed withStopChildren(false))', async () => {
    for (const stopChildren of [true, false]) {
      const { clock, ref, ofType } = setup({ stopChildren })
      ref.tell('spawnHelper')
      expect(await ref.ask('helperAlive')).toBe(true)
      ref.tell('crash')
      await waitFor(() => ofType('restart-scheduled').length === 1)
      clock.advance(100)
      await waitFor(() => ofType('child-restarted').length === 1)
      expect(await ref.ask('helperAlive')).toBe(!stopChildren)
    }
  })

  it('stop restarting the child after reaching maxNrOfRetries limit', async () => {
    const { system, clock, ref, ofType } = setup({ maxRetries: 2, resetAfterMs: 1_000_000 })
    const gone = system.watch(ref)
    for (let i = 0; i < 2; i++) {
      ref.tell('crash')
      await waitFor(() => ofType('restart-scheduled').length === i + 1)
      clock.advance(1000)
      await waitFor(() => ofType('child-restarted').length === i + 1)
    }
    ref.tell('crash')
    await gone
    expect(ofType('restart-scheduled').map((e) => e.delayMs)).toEqual([100, 200])
  })

  it('correctly calculate the delay (Pekko calculateDelay table, in ms)', () => {
    const r = { next: () => 0 }
    const min = 60_000
    expect(backoffDelay({ minMs: 5 * min, maxMs: 7 * min }, 0, r)).toBe(5 * min)
    expect(backoffDelay({ minMs: 5000, maxMs: 7000 }, 2, r)).toBe(7000)
    expect(backoffDelay({ minMs: 5000, maxMs: 7 * 86_400_000 }, 2, r)).toBe(20_000)
    expect(backoffDelay({ minMs: 5 * min, maxMs: 10 * min }, 29, r)).toBe(10 * min)
    expect(backoffDelay({ minMs: 10_000 * 86_400_000, maxMs: 10_000 * 86_400_000 }, 2 ** 31 - 1, r)).toBe(10_000 * 86_400_000)
    // The random factor applies after the cap: up to maxMs * (1 + randomFactor).
    expect(backoffDelay({ minMs: 100, maxMs: 1000, randomFactor: 0.2 }, 10, { next: () => 1 })).toBe(1200)
  })
})
