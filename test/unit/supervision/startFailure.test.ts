import { describe, expect, it } from 'vitest'
import { ActorInitError, errorCode, LifecycleTopic, type LifecycleEvent } from '../../../runtime/index.ts'
import { ChildStartError, childSpec, SupervisionErrorCodes, Supervisor } from '../../../supervision/index.ts'
import { waitFor } from '../../../testing/index.ts'
import { childOf, Probe, statuses, testSystem, started } from './helpers.ts'

describe('start failures', () => {
  it('a child failing in preStart stops the started ones in reverse order and fails the supervisor start', async () => {
    const t = testSystem()
    const lifecycle: LifecycleEvent[] = []
    t.system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
    const control = { failStart: (label: string) => label === 'c' }
    const sup = t.system.spawn(Supervisor, {
      name: 'sup',
      args: [{ children: ['a', 'b', 'c', 'd'].map((id) => childSpec({ id, actor: Probe, args: [id, t.log, control] })) }],
    })
    const terminated = await t.system.watch(sup)
    expect(t.log).toEqual(['start a', 'start b', 'start-failed c', 'stop b', 'stop a'])

    // The supervisor's own start failed: an ActorInitError caused by ChildStartError (child 'c').
    const failed = lifecycle.find((e) => e.event === 'failed' && e.ref.equals(sup))
    expect(failed?.error).toBeInstanceOf(ActorInitError)
    const startError = failed?.error?.cause
    expect(startError).toBeInstanceOf(ChildStartError)
    expect(errorCode(startError)).toBe(SupervisionErrorCodes.ChildStartFailed)
    expect((startError as ChildStartError).data).toEqual({ childId: 'c' })
    expect(((startError as ChildStartError).cause as Error).message).toMatch(/start of c failed/)
    expect(t.ofType('start-failed')).toMatchObject([{ childId: 'c' }])

    // The user guardian stops a top-level actor that failed to start (restarting would fail again).
    expect(terminated.reason.kind).toBe('failure')
    expect(t.system.actorCount).toBe(0)
  })

  it('startChild rejects with ChildStartError and leaves no spec behind', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ children: [childSpec({ id: 'a', actor: Probe, args: ['a', t.log] })] }] })
    const failing = childSpec({ id: 'bad', actor: Probe, args: ['bad', t.log, { failStart: () => true }] })
    const error = await started(sup.ask('startChild', failing)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChildStartError)
    expect(((error as Error).cause as Error).message).toMatch(/start of bad failed/)
    expect(await statuses(sup)).toEqual({ a: 'running' })
    expect(t.system.actorCount).toBe(2)
  })

  it('a restart whose preStart fails counts against the budget and is retried', async () => {
    const t = testSystem()
    let failuresLeft = 0
    const control = { failStart: () => failuresLeft-- > 0 }
    const sup = t.system.spawn(Supervisor, { args: [{ intensity: 3, periodMs: 1000, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log, control] })] }] })
    const w = await childOf(sup, 'w')
    t.log.length = 0
    failuresLeft = 2
    w.tell('crash')
    await t.waitForEvents('child-restarted', 1)
    expect(t.ofType('start-failed', 'w')).toHaveLength(2)
    expect(t.log).toEqual(['stop w', 'start-failed w', 'start-failed w', 'start w'])
    // 1 crash + 2 failed restarts = 3 restarts: the budget is now spent.
    expect((await sup.ask('whichChildren'))[0]).toMatchObject({ status: 'running', restarts: 3 })
    ;(await childOf(sup, 'w')).tell('crash')
    await t.waitForEvents('gave-up', 1)
  })

  it('a restart that keeps failing to start gives up', async () => {
    const t = testSystem()
    let failing = false
    const sup = t.system.spawn(Supervisor, { args: [{ intensity: 2, periodMs: 1000, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log, { failStart: () => failing }] })] }] })
    const w = await childOf(sup, 'w')
    failing = true
    w.tell('crash')
    await t.system.whenTerminated
    expect(t.ofType('start-failed')).toHaveLength(2)
    expect(t.ofType('gave-up')).toHaveLength(1)
    await waitFor(() => t.system.isTerminated)
  })
})
