import { describe, expect, it } from 'vitest'
import {
  Actor,
  ActorStoppedError,
  DEFAULT_MAILBOX_CAPACITY,
  ErrorCodes,
  InvalidArgumentError,
  MailboxFullError,
  type ActorInfo,
} from '../../../runtime/index.ts'
import { collectDeadLetters, deferred, settle, track, useSystems, waitFor, type Deferred } from './support/helpers.ts'

interface RecorderProtocol {
  record(value: string): void
  ask(value: string): string
  /** Blocks the actor (turn-based) until the gate opens. */
  block(): Promise<void>
}

class Recorder extends Actor<RecorderProtocol> implements RecorderProtocol {
  private readonly log: string[]
  private readonly gate: { current: Deferred<void> | null }
  constructor(log: string[], gate: { current: Deferred<void> | null } = { current: null }) {
    super()
    this.log = log
    this.gate = gate
  }
  record(value: string): void {
    this.log.push(value)
  }
  ask(value: string): string {
    this.log.push(value)
    return value
  }
  async block(): Promise<void> {
    this.log.push('block')
    await this.gate.current?.promise
  }
}

const newSystem = useSystems()

describe('Mailbox', () => {
  it('takes system messages before user messages: a stop overtakes queued mail', async () => {
    const system = newSystem()
    const log: string[] = []
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Recorder, { args: [log] })
    ref.tell('record', 'a')
    ref.tell('record', 'b')
    // Posted after the user messages, yet handled first: the system lane is drained before the user lane.
    const terminated = await system.stop(ref)
    expect(terminated.reason.kind).toBe('shutdown')
    expect(log).toEqual([])
    expect(letters.map((l) => [l.envelope.args[0], l.reason])).toEqual([
      ['a', 'stopped'],
      ['b', 'stopped'],
    ])
  })

  it('stops after the current message, ahead of the rest of the queue', async () => {
    const system = newSystem()
    const log: string[] = []
    const gate = { current: deferred() }
    const ref = system.spawn(Recorder, { args: [log, gate] })
    ref.tell('block')
    await waitFor(() => log.length === 1, 'block started')
    ref.tell('record', 'queued')
    const stopped = track(system.stop(ref))
    await settle()
    expect(stopped.settled).toBe(false)
    gate.current.resolve()
    await waitFor(() => stopped.settled, 'stop')
    expect(log).toEqual(['block'])
  })

  it('is bounded by default with the reject policy', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Recorder, { args: [log] })
    expect(DEFAULT_MAILBOX_CAPACITY).toBe(10_000)
    // All tells happen in one synchronous block, before the dispatcher gets a turn.
    for (let i = 0; i < DEFAULT_MAILBOX_CAPACITY; i++) ref.tell('record', String(i))
    expect(() => ref.tell('record', 'one too many')).toThrow(MailboxFullError)
    await waitFor(() => log.length === DEFAULT_MAILBOX_CAPACITY, 'backlog handled')
    expect(log.at(-1)).toBe(String(DEFAULT_MAILBOX_CAPACITY - 1))
  })

  it('takes the system-wide default mailbox options', () => {
    const system = newSystem({ mailbox: { capacity: 2 } })
    const ref = system.spawn(Recorder, { args: [[]] })
    ref.tell('record', 'a')
    ref.tell('record', 'b')
    expect(() => ref.tell('record', 'c')).toThrow(MailboxFullError)
  })

  it('rejects a capacity below 1 at spawn', () => {
    const system = newSystem()
    expect(() => system.spawn(Recorder, { args: [[]], mailbox: { capacity: 0 } })).toThrow(InvalidArgumentError)
    expect(() => system.spawn(Recorder, { args: [[]], mailbox: { capacity: Number.NaN } })).toThrow(InvalidArgumentError)
    expect(system.actorCount).toBe(0)
    expect(() => newSystem({ mailbox: { capacity: -1 } })).toThrow(InvalidArgumentError)
  })

  describe('overflow', () => {
    it('reject: tell throws MailboxFullError and ask rejects with it; nothing is dead-lettered', async () => {
      const system = newSystem()
      const log: string[] = []
      const letters = collectDeadLetters(system)
      const ref = system.spawn(Recorder, { args: [log], mailbox: { capacity: 2, overflow: 'reject' } })
      ref.tell('record', 'a')
      ref.tell('record', 'b')
      let thrown: unknown
      try {
        ref.tell('record', 'c')
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(MailboxFullError)
      expect(thrown).toMatchObject({ code: ErrorCodes.MailboxFull, name: 'MailboxFullError' })
      await expect(ref.ask('ask', 'd')).rejects.toMatchObject({ code: 'ERR_MAILBOX_FULL' })
      await waitFor(() => log.length === 2, 'queued handled')
      expect(log).toEqual(['a', 'b'])
      expect(letters).toEqual([])
    })

    it('drop-newest: the new message goes to dead letters with reason overflow', async () => {
      const system = newSystem()
      const log: string[] = []
      const letters = collectDeadLetters(system)
      const ref = system.spawn(Recorder, { args: [log], mailbox: { capacity: 2, overflow: 'drop-newest' } })
      ref.tell('record', 'a')
      ref.tell('record', 'b')
      ref.tell('record', 'c')
      const dropped = ref.ask('ask', 'd')
      await expect(dropped).rejects.toBeInstanceOf(MailboxFullError)
      await waitFor(() => log.length === 2, 'queued handled')
      expect(log).toEqual(['a', 'b'])
      expect(letters.map((l) => [l.envelope.args[0], l.reason])).toEqual([
        ['c', 'overflow'],
        ['d', 'overflow'],
      ])
    })

    it('drop-oldest: the oldest queued message goes to dead letters with reason overflow', async () => {
      const system = newSystem()
      const log: string[] = []
      const letters = collectDeadLetters(system)
      const ref = system.spawn(Recorder, { args: [log], mailbox: { capacity: 2, overflow: 'drop-oldest' } })
      const first = ref.ask('ask', 'a')
      ref.tell('record', 'b')
      ref.tell('record', 'c')
      ref.tell('record', 'd')
      await expect(first).rejects.toBeInstanceOf(MailboxFullError)
      await waitFor(() => log.length === 2, 'queued handled')
      expect(log).toEqual(['c', 'd'])
      expect(letters.map((l) => [l.envelope.args[0], l.reason])).toEqual([
        ['a', 'overflow'],
        ['b', 'overflow'],
      ])
      expect(system.deadLetters.count).toBe(2)
    })

    it('unbounded when the capacity is Infinity', async () => {
      const system = newSystem()
      const log: string[] = []
      const ref = system.spawn(Recorder, { args: [log], mailbox: { capacity: Infinity } })
      const n = DEFAULT_MAILBOX_CAPACITY * 3
      for (let i = 0; i < n; i++) ref.tell('record', String(i))
      await waitFor(() => log.length === n, 'backlog handled')
      expect(system.deadLetters.count).toBe(0)
    })
  })

  it('priority levels: a lower level is handled first, FIFO within a level', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Recorder, {
      args: [log],
      mailbox: { priority: { levels: 3, of: (_method, args) => (args[0] as string).startsWith('urgent') ? 0 : (args[0] as string).startsWith('low') ? 2 : 1 } },
    })
    for (const value of ['low-1', 'normal-1', 'urgent-1', 'normal-2', 'low-2', 'urgent-2']) ref.tell('record', value)
    await waitFor(() => log.length === 6, 'all handled')
    expect(log).toEqual(['urgent-1', 'urgent-2', 'normal-1', 'normal-2', 'low-1', 'low-2'])
  })

  it('priority with drop-oldest evicts from the least urgent level', async () => {
    const system = newSystem()
    const log: string[] = []
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Recorder, {
      args: [log],
      mailbox: { capacity: 3, overflow: 'drop-oldest', priority: { levels: 2, of: (_m, args) => ((args[0] as string).startsWith('urgent') ? 0 : 1) } },
    })
    for (const value of ['urgent-1', 'low-1', 'low-2', 'urgent-2']) ref.tell('record', value)
    await waitFor(() => log.length === 3, 'all handled')
    expect(log).toEqual(['urgent-1', 'urgent-2', 'low-2'])
    expect(letters.map((l) => l.envelope.args[0])).toEqual(['low-1'])
  })

  describe('backpressure (offer)', () => {
    it('waits for room instead of failing, then resolves once queued', async () => {
      const system = newSystem()
      const log: string[] = []
      const gate = { current: deferred() }
      const ref = system.spawn(Recorder, { args: [log, gate], mailbox: { capacity: 1 } })
      ref.tell('block')
      await waitFor(() => log.length === 1, 'blocked')
      await ref.offer('record', 'fits') // room: resolves at once
      const waiting = track(ref.offer('record', 'waits'))
      expect(() => ref.tell('record', 'rejected')).toThrow(MailboxFullError)
      await settle()
      expect(waiting.settled).toBe(false)
      gate.current.resolve()
      await waitFor(() => waiting.settled, 'offer admitted')
      expect(waiting.error).toBeUndefined()
      await waitFor(() => log.length === 3, 'all handled')
      expect(log).toEqual(['block', 'fits', 'waits'])
    })

    it('keeps offers in order behind each other', async () => {
      const system = newSystem()
      const log: string[] = []
      const gate = { current: deferred() }
      const ref = system.spawn(Recorder, { args: [log, gate], mailbox: { capacity: 1 } })
      ref.tell('block')
      await waitFor(() => log.length === 1, 'blocked')
      const offers = ['1', '2', '3', '4'].map((v) => ref.offer('record', v))
      gate.current.resolve()
      await Promise.all(offers)
      await waitFor(() => log.length === 5, 'all handled')
      expect(log).toEqual(['block', '1', '2', '3', '4'])
    })

    it('rejects with ERR_ACTOR_STOPPED when the actor stops first', async () => {
      const system = newSystem()
      const log: string[] = []
      const gate = { current: deferred() }
      const ref = system.spawn(Recorder, { args: [log, gate], mailbox: { capacity: 1 } })
      ref.tell('block')
      await waitFor(() => log.length === 1, 'blocked')
      ref.tell('record', 'fills')
      const waiting = ref.offer('record', 'waits')
      const stopped = system.stop(ref)
      gate.current.resolve()
      await expect(waiting).rejects.toBeInstanceOf(ActorStoppedError)
      await expect(waiting).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
      await stopped
      await expect(ref.offer('record', 'after')).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
      expect(log).toEqual(['block'])
    })
  })

  it('calls the posted/received/idle hooks with the depth', async () => {
    const events: string[] = []
    const infos: ActorInfo[] = []
    const system = newSystem({
      mailboxHooks: {
        posted: (actor, depth) => {
          infos.push(actor)
          events.push(`posted:${depth}`)
        },
        received: (_actor, depth) => events.push(`received:${depth}`),
        idle: (actor) => events.push(`idle:${actor.mailboxSize}`),
      },
    })
    const ref = system.spawn(Recorder, { name: 'hooked', args: [[]] })
    ref.tell('record', 'a')
    ref.tell('record', 'b')
    ref.tell('record', 'c')
    await waitFor(() => events.includes('idle:0'), 'idle hook')
    expect(events).toEqual(['posted:1', 'posted:2', 'posted:3', 'received:2', 'received:1', 'received:0', 'idle:0'])
    expect(infos[0]).toMatchObject({ actorType: 'Recorder', path: '/user/hooked' })
  })
})
