import { describe, expect, it } from 'vitest'
import { Actor, DeadLetterTopic, EnvelopeKind, type DeadLetter } from '../../../runtime/index.ts'
import { ManualClock } from './support/ManualClock.ts'
import { collectDeadLetters, deferred, useSystems, waitFor } from './support/helpers.ts'

const newSystem = useSystems()

interface SinkProtocol {
  put(value: string): void
  slow(gate: { promise: Promise<void> }): Promise<string>
}
class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  put(_value: string): void {}
  async slow(gate: { promise: Promise<void> }): Promise<string> {
    await gate.promise
    return 'late'
  }
}

describe('dead letters', () => {
  it('messages to a stopped actor', async () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Sink)
    await system.stop(ref)
    ref.tell('put', 'after stop')
    expect(letters).toHaveLength(1)
    expect(letters[0]?.reason).toBe('stopped')
    expect(letters[0]?.envelope).toMatchObject({ kind: EnvelopeKind.Tell, method: 'put', args: ['after stop'], sender: null })
    expect(letters[0]?.envelope.target.equals(ref)).toBe(true)
    expect(system.deadLetters.count).toBe(1)
  })

  it('messages to an address nothing can reach are unknown', () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Sink)
    const elsewhere = system.refFor<SinkProtocol>({ ...ref.address, node: 'nowhere' })
    elsewhere.tell('put', 'x')
    expect(letters.map((l) => l.reason)).toEqual(['unknown'])
  })

  it('a local address whose actor is gone resolves to a ref whose messages are dead letters', async () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Sink, { name: 'gone' })
    const address = ref.address
    await system.stop(ref)
    system.refFor<SinkProtocol>(address).tell('put', 'x')
    expect(letters.map((l) => l.reason)).toEqual(['stopped'])
  })

  it('messages dropped by a full mailbox', () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Sink, { mailbox: { capacity: 1, overflow: 'drop-newest' } })
    ref.tell('put', 'kept')
    ref.tell('put', 'dropped')
    expect(letters.map((l) => [l.reason, l.envelope.args[0]])).toEqual([['overflow', 'dropped']])
  })

  it('late replies', async () => {
    const clock = new ManualClock()
    const system = newSystem({ clock })
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Sink)
    const gate = deferred()
    const reply = ref.askWith({ timeoutMs: 10 }, 'slow', gate)
    clock.advance(10)
    await expect(reply).rejects.toMatchObject({ code: 'ERR_ASK_TIMEOUT' })
    gate.resolve()
    await waitFor(() => letters.length === 1, 'late reply')
    expect(letters[0]?.reason).toBe('late-reply')
    expect(letters[0]?.envelope.kind).toBe(EnvelopeKind.ReplyOk)
    expect(letters[0]?.envelope.args).toEqual(['late'])
  })

  it('are counted without subscribers, and subscribers can unsubscribe', async () => {
    const system = newSystem()
    const ref = system.spawn(Sink)
    await system.stop(ref)
    ref.tell('put', '1')
    expect(system.deadLetters.count).toBe(1)
    const seen: DeadLetter[] = []
    const subscription = system.deadLetters.subscribe((letter) => seen.push(letter))
    ref.tell('put', '2')
    subscription.unsubscribe()
    subscription.unsubscribe()
    ref.tell('put', '3')
    expect(seen.map((l) => l.envelope.args[0])).toEqual(['2'])
    expect(system.deadLetters.count).toBe(3)
  })

  it('are published on DeadLetterTopic of the event stream', async () => {
    const system = newSystem()
    const seen: DeadLetter[] = []
    system.subscribe(DeadLetterTopic, (letter) => seen.push(letter))
    const ref = system.spawn(Sink)
    await system.stop(ref)
    ref.tell('put', 'x')
    expect(seen).toHaveLength(1)
  })
})
