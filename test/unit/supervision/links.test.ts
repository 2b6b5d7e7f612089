import { describe, expect, it } from 'vitest'
import { Actor, errorCode, ErrorCodes, LifecycleTopic, LinkedExitError, type ActorRef, type LifecycleEvent, type Terminated } from '../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, testSystem } from './helpers.ts'

interface LinkerProtocol {
  linkTo(ref: ActorRef<any>): void
  unlinkFrom(ref: ActorRef<any>): void
  trap(enabled: boolean): void
  quit(): void
  crash(): void
}

/** Records trapped exits in the array it is given (shared across restarts). */
class Linker extends Actor<LinkerProtocol> implements LinkerProtocol {
  private readonly seen: Terminated[]
  constructor(seen: Terminated[]) {
    super()
    this.seen = seen
  }
  linkTo(ref: ActorRef<any>): void {
    this.context.link(ref)
  }
  unlinkFrom(ref: ActorRef<any>): void {
    this.context.unlink(ref)
  }
  trap(enabled: boolean): void {
    this.context.trapExits(enabled)
  }
  quit(): void {
    this.context.stop()
  }
  crash(): void {
    throw new Error('linked crash')
  }
  override onTerminated(terminated: Terminated): void {
    this.seen.push(terminated)
  }
}

function setup(options: { trapExits?: boolean } = {}) {
  const t = testSystem()
  const lifecycle: LifecycleEvent[] = []
  t.system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
  const seenA: Terminated[] = []
  const seenB: Terminated[] = []
  const a = t.system.spawn(Linker, { name: 'a', args: [seenA], ...(options.trapExits === undefined ? {} : { trapExits: options.trapExits }) })
  const b = t.system.spawn(Linker, { name: 'b', args: [seenB] })
  const failuresOf = (ref: ActorRef<any>) => lifecycle.filter((e) => e.event === 'failed' && e.ref.equals(ref)).map((e) => e.error as Error)
  return { ...t, a, b, seenA, seenB, lifecycle, failuresOf }
}

describe('links', () => {
  it('an abnormal exit (killed) fails the linked actor with LinkedExitError (ERR_LINKED_EXIT)', async () => {
    const { system, a, b, failuresOf } = setup()
    await a.ask('linkTo', b)
    system.kill(b)
    await waitFor(() => failuresOf(a).length === 1)
    const error = failuresOf(a)[0]
    expect(error).toBeInstanceOf(LinkedExitError)
    expect(errorCode(error)).toBe(ErrorCodes.LinkedExit)
    expect((error as LinkedExitError).data).toEqual({ reason: 'killed' })
  })

  it('links are bidirectional: the actor that linked can be the one that dies', async () => {
    const { system, a, b, failuresOf } = setup()
    await a.ask('linkTo', b)
    system.kill(a)
    await waitFor(() => failuresOf(b).length === 1)
  })

  it('a failure exit carries the error as cause; under a supervisor the linked child is restarted', async () => {
    const t = testSystem()
    const seen: Terminated[] = []
    const sup = t.system.spawn(Supervisor, {
      args: [
        {
          intensity: 5,
          children: [
            childSpec({ id: 'victim', actor: Linker, args: [seen] }),
            childSpec({ id: 'doomed', actor: Linker, args: [seen], restart: 'transient', decider: () => 'stop' }),
          ],
        },
      ],
    })
    const victim = await childOf<LinkerProtocol>(sup, 'victim')
    const doomed = await childOf<LinkerProtocol>(sup, 'doomed')
    await victim.ask('linkTo', doomed)
    doomed.tell('crash') // its decider stops it: exit reason is the failure
    await t.waitForEvents('child-restarted', 1, 'victim')
    const reason = t.ofType('child-restarted', 'victim')[0]?.reason as Error
    expect(reason).toBeInstanceOf(LinkedExitError)
    expect((reason.cause as Error).message).toBe('linked crash')
    expect(t.ofType('child-stopped', 'doomed')).toHaveLength(1)
  })

  it('a normal exit does not propagate', async () => {
    const { system, a, b, failuresOf } = setup()
    await a.ask('linkTo', b)
    b.tell('quit')
    await system.watch(b)
    await settle()
    expect(failuresOf(a)).toEqual([])
    await a.ask('trap', false) // still alive and handling messages
  })

  it('a shutdown exit (stopped by its parent or the system) counts as normal and does not propagate either', async () => {
    // Differs from Erlang, where `shutdown` is an exit signal that kills non-trapping linked
    // processes; here `shutdown` is normal (see docs/supervision.md).
    const { system, a, b, failuresOf } = setup()
    await a.ask('linkTo', b)
    await system.stop(b)
    await settle()
    expect(failuresOf(a)).toEqual([])
  })

  it('trapExits delivers the exit as onTerminated with linked: true instead of failing', async () => {
    const { system, a, b, seenA, failuresOf } = setup({ trapExits: true })
    await a.ask('linkTo', b)
    system.kill(b)
    await waitFor(() => seenA.length === 1)
    expect(seenA[0]).toMatchObject({ reason: { kind: 'killed' }, linked: true })
    expect(seenA[0]?.ref.equals(b)).toBe(true)
    expect(failuresOf(a)).toEqual([])
  })

  it('trapExits can be switched on at run time through the context', async () => {
    const { system, a, b, seenA, failuresOf } = setup()
    await a.ask('trap', true)
    await a.ask('linkTo', b)
    system.kill(b)
    await waitFor(() => seenA.length === 1)
    expect(seenA[0]?.linked).toBe(true)
    expect(failuresOf(a)).toEqual([])
  })

  it('unlink removes the link both ways', async () => {
    const { system, a, b, failuresOf } = setup()
    await a.ask('linkTo', b)
    await a.ask('unlinkFrom', b)
    system.kill(b)
    await settle()
    expect(failuresOf(a)).toEqual([])
  })

  it('linking to an actor that is already gone is an exit signal (not-found)', async () => {
    const { system, a, b, seenA } = setup({ trapExits: true })
    await system.stop(b)
    await a.ask('linkTo', b)
    await waitFor(() => seenA.length === 1)
    expect(seenA[0]).toMatchObject({ reason: { kind: 'not-found' }, linked: true })
  })

  it('a link survives an in-place restart of either actor', async () => {
    const { system, a, b, failuresOf, lifecycle } = setup()
    await a.ask('linkTo', b)
    a.tell('crash') // the guardian restarts a in place
    await waitFor(() => lifecycle.some((e) => e.event === 'restarted' && e.ref.equals(a)))
    system.kill(b)
    await waitFor(() => failuresOf(a).length === 2)
    expect(failuresOf(a)[1]).toBeInstanceOf(LinkedExitError)
  })
})
