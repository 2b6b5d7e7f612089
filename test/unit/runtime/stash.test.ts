import { describe, expect, it } from 'vitest'
import { Actor, ErrorCodes, NotInActorError, StashFullError } from '../../../runtime/index.ts'
import { collectDeadLetters, useSystems, waitFor } from './support/helpers.ts'

const newSystem = useSystems()

interface GateProtocol {
  open(): void
  close(): void
  work(id: string): string
  stashSize(): number
  crash(): void
}

/** While closed, stashes every `work` message; `open` replays them. */
class Gate extends Actor<GateProtocol> implements GateProtocol {
  private closed = true
  private readonly log: string[]
  constructor(log: string[]) {
    super()
    this.log = log
  }
  open(): void {
    this.closed = false
    this.context.unstashAll()
  }
  close(): void {
    this.closed = true
  }
  work(id: string): string {
    if (this.closed) {
      this.context.stash()
      return 'stashed'
    }
    this.log.push(id)
    return id
  }
  stashSize(): number {
    return this.context.stashSize
  }
  crash(): void {
    throw new Error('crash')
  }
}

describe('stash', () => {
  it('unstashAll replays stashed messages oldest first, before messages that arrive later', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Gate, { args: [log] })
    ref.tell('work', '1')
    ref.tell('work', '2')
    ref.tell('work', '3')
    expect(await ref.ask('stashSize')).toBe(3)
    ref.tell('open')
    ref.tell('work', '4')
    await waitFor(() => log.length === 4, 'all handled')
    expect(log).toEqual(['1', '2', '3', '4'])
    expect(await ref.ask('stashSize')).toBe(0)
  })

  it('a stashed ask is answered when the message is finally handled', async () => {
    const system = newSystem()
    const ref = system.spawn(Gate, { args: [[]] })
    const reply = ref.ask('work', 'x')
    ref.tell('open')
    // Handled twice: the first time it was stashed (no reply sent), the second time it replies.
    expect(await reply).toBe('x')
  })

  it('is bounded: stashing beyond stashCapacity throws StashFullError', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Gate, { args: [log], stashCapacity: 2 })
    ref.tell('work', '1')
    ref.tell('work', '2')
    const third = ref.ask('work', '3')
    await expect(third).rejects.toBeInstanceOf(StashFullError)
    await expect(third).rejects.toMatchObject({ code: ErrorCodes.StashFull, data: { capacity: 2 } })
  })

  it('stash() outside a message handler throws NotInActorError', async () => {
    let caught: unknown
    class Eager extends Actor<{ ping(): void }> {
      constructor() {
        super()
        try {
          this.context.stash()
        } catch (error) {
          caught = error
        }
      }
      ping(): void {}
    }
    newSystem().spawn(Eager)
    expect(caught).toBeInstanceOf(NotInActorError)
  })

  it('stashed messages go to dead letters when the actor stops', async () => {
    const system = newSystem()
    const letters = collectDeadLetters(system)
    const ref = system.spawn(Gate, { args: [[]] })
    ref.tell('work', '1')
    ref.tell('work', '2')
    expect(await ref.ask('stashSize')).toBe(2)
    await system.stop(ref)
    expect(letters.map((l) => [l.envelope.args[0], l.reason])).toEqual([
      ['1', 'stopped'],
      ['2', 'stopped'],
    ])
  })

  it('a stashed ask fails with ERR_ACTOR_STOPPED when the actor stops', async () => {
    const system = newSystem()
    const ref = system.spawn(Gate, { args: [[]] })
    const asked = ref.ask('work', '1')
    expect(await ref.ask('stashSize')).toBe(1)
    await system.stop(ref)
    await expect(asked).rejects.toMatchObject({ code: 'ERR_ACTOR_STOPPED' })
  })

  it('survives a restart: the fresh instance gets the stashed messages', async () => {
    const system = newSystem()
    const log: string[] = []
    const ref = system.spawn(Gate, { args: [log] })
    ref.tell('work', '1')
    ref.tell('work', '2')
    ref.tell('crash')
    // The fresh instance starts closed, so it stashes them again; opening it replays them in order.
    expect(await ref.ask('stashSize')).toBe(2)
    ref.tell('open')
    await waitFor(() => log.length === 2, 'replayed')
    expect(log).toEqual(['1', '2'])
  })
})
