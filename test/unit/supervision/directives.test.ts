import { describe, expect, it } from 'vitest'
import { LifecycleTopic, type Directive, type LifecycleEvent } from '../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../supervision/index.ts'
import { settle } from '../../../testing/index.ts'
import { childOf, Probe, statuses, testSystem } from './helpers.ts'

function setup(decider?: (error: Error) => Directive) {
  const t = testSystem()
  const lifecycle: LifecycleEvent[] = []
  t.system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [
      {
        intensity: 5,
        children: [
          childSpec({ id: 'w', actor: Probe, args: ['w', t.log], ...(decider === undefined ? {} : { decider }) }),
          childSpec({ id: 'other', actor: Probe, args: ['other', t.log] }),
        ],
      },
    ],
  })
  return { ...t, sup, lifecycle }
}

describe('directives chosen by the decider', () => {
  it('restart is the default: fresh state, same ref', async () => {
    const { sup, waitForEvents } = setup()
    const w = await childOf(sup, 'w')
    await w.ask('inc')
    w.tell('crash')
    await waitForEvents('child-restarted', 1, 'w')
    expect(await w.ask('count')).toBe(0)
  })

  it('resume keeps the instance and its state; the next message is handled as if nothing happened', async () => {
    const { sup, log, ofType, waitForEvents } = setup(() => 'resume')
    const w = await childOf(sup, 'w')
    await w.ask('inc')
    await w.ask('inc')
    w.tell('crash')
    await waitForEvents('child-resumed', 1, 'w')
    expect(await w.ask('inc')).toBe(3)
    expect(ofType('child-resumed')[0]?.error.message).toBe('boom w')
    expect(ofType('child-restarted')).toEqual([])
    expect(log).toEqual(['start w', 'start other'])
  })

  it('resume does not count against the restart budget', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ intensity: 0, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log], decider: () => 'resume' })] }] })
    const w = await childOf(sup, 'w')
    for (let i = 0; i < 5; i++) w.tell('crash')
    expect(await w.ask('ping')).toBe('pong w')
    expect(t.ofType('child-resumed')).toHaveLength(5)
    expect(t.ofType('gave-up')).toEqual([])
  })

  it('stop stops the child with the failure as its reason; the spec stays', async () => {
    const { system, sup, ofType, waitForEvents } = setup(() => 'stop')
    const w = await childOf(sup, 'w')
    const gone = system.watch(w)
    w.tell('crash')
    await waitForEvents('child-stopped', 1, 'w')
    const reason = (await gone).reason
    expect(reason.kind === 'failure' && reason.error.message).toBe('boom w')
    expect(ofType('child-stopped', 'w')[0]?.reason).toEqual(reason)
    expect(await statuses(sup)).toEqual({ w: 'terminated', other: 'running' })
    expect(ofType('child-restarted')).toEqual([])
  })

  it('escalate fails the supervisor with the child error; its parent (the guardian) restarts it', async () => {
    const { sup, lifecycle, ofType, waitForEvents, log } = setup(() => 'escalate')
    const w = await childOf(sup, 'w')
    log.length = 0
    w.tell('crash')
    await waitForEvents('escalated', 1, 'w')
    await waitForEvents('child-started', 4)
    expect(ofType('escalated')[0]?.error.message).toBe('boom w')
    const supEvents = lifecycle.filter((e) => e.ref.equals(sup)).map((e) => [e.event, e.error?.message])
    expect(supEvents).toEqual([
      ['started', undefined],
      ['failed', 'boom w'],
      ['restarted', undefined],
    ])
    expect(log).toEqual(['stop other', 'stop w', 'start w', 'start other'])
    // The supervisor keeps its ref; its children were stopped and started anew: new refs.
    const again = await childOf(sup, 'w')
    expect(again.equals(w)).toBe(false)
    expect(await again.ask('ping')).toBe('pong w')
  })

  it('the decider chooses per error', async () => {
    const { sup, waitForEvents, ofType } = setup((error) => (error.message === 'fatal' ? 'stop' : 'resume'))
    const w = await childOf(sup, 'w')
    w.tell('crash', 'minor')
    await waitForEvents('child-resumed', 1)
    w.tell('crash', 'fatal')
    await waitForEvents('child-stopped', 1)
    expect(ofType('child-resumed')).toHaveLength(1)
  })

  it('a decider that throws escalates with what it threw', async () => {
    const { sup, waitForEvents, ofType } = setup(() => {
      throw new Error('decider broke')
    })
    ;(await childOf(sup, 'w')).tell('crash')
    await waitForEvents('escalated', 1)
    expect(ofType('escalated')[0]?.error.message).toBe('decider broke')
    await settle()
  })
})
