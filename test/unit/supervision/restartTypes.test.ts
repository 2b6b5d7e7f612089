import { describe, expect, it } from 'vitest'
import { ExitReasons } from '../../../runtime/index.ts'
import { childSpec, Supervisor, type RestartType } from '../../../supervision/index.ts'
import { childOf, Probe, statuses, testSystem } from './helpers.ts'

function setup(restart: RestartType) {
  const t = testSystem()
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [{ intensity: 10, periodMs: 1000, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log], restart }), childSpec({ id: 'other', actor: Probe, args: ['other', t.log] })] }],
  })
  return { ...t, sup }
}

describe('restart types', () => {
  it('permanent: restarted in place after a crash (same ref, fresh state)', async () => {
    const { sup, waitForEvents, ofType } = setup('permanent')
    const w = await childOf(sup, 'w')
    expect(await w.ask('inc')).toBe(1)
    w.tell('crash')
    await waitForEvents('child-restarted', 1, 'w')
    expect((await childOf(sup, 'w')).equals(w)).toBe(true)
    expect(await w.ask('count')).toBe(0)
    expect(ofType('child-restarted', 'w')[0]?.reason).toMatchObject({ message: 'boom w' })
  })

  it('permanent: restarted after a normal exit too, as a new incarnation (new ref)', async () => {
    const { sup, waitForEvents, ofType } = setup('permanent')
    const w = await childOf(sup, 'w')
    w.tell('quit')
    await waitForEvents('child-restarted', 1, 'w')
    const again = await childOf(sup, 'w')
    expect(again.equals(w)).toBe(false)
    expect(await again.ask('ping')).toBe('pong w')
    expect(ofType('child-restarted', 'w')[0]?.reason).toEqual(ExitReasons.normal)
    const info = (await sup.ask('whichChildren')).find((c) => c.id === 'w')
    expect(info).toMatchObject({ status: 'running', restarts: 1, restart: 'permanent' })
  })

  it('transient: restarted after a crash', async () => {
    const { sup, waitForEvents } = setup('transient')
    const w = await childOf(sup, 'w')
    w.tell('crash')
    await waitForEvents('child-restarted', 1, 'w')
    expect(await w.ask('ping')).toBe('pong w')
  })

  it('transient: restarted after an abnormal exit (killed)', async () => {
    const { system, sup, waitForEvents } = setup('transient')
    const w = await childOf(sup, 'w')
    system.kill(w)
    await waitForEvents('child-restarted', 1, 'w')
    expect(await (await childOf(sup, 'w')).ask('ping')).toBe('pong w')
  })

  it('transient: not restarted after a normal exit; its spec stays', async () => {
    const { sup, waitForEvents, ofType, events } = setup('transient')
    const w = await childOf(sup, 'w')
    w.tell('quit')
    await waitForEvents('child-stopped', 1, 'w')
    expect(ofType('child-stopped', 'w')[0]?.reason).toEqual(ExitReasons.normal)
    expect(await statuses(sup)).toEqual({ w: 'terminated', other: 'running' })
    expect(await sup.ask('lookupChild', 'w')).toBeNull()
    expect(await sup.ask('countChildren')).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 })
    expect(events.some((e) => e.type === 'child-restarted')).toBe(false)
  })

  it('temporary: never restarted, after a crash; its spec is removed', async () => {
    const { system, sup, waitForEvents, ofType } = setup('temporary')
    const w = await childOf(sup, 'w')
    const gone = system.watch(w)
    w.tell('crash')
    await waitForEvents('child-stopped', 1, 'w')
    const reason = ofType('child-stopped', 'w')[0]?.reason
    expect(reason?.kind).toBe('failure')
    expect((await gone).reason.kind).toBe('failure')
    expect(await statuses(sup)).toEqual({ other: 'running' })
    expect(ofType('child-restarted')).toEqual([])
  })

  it('temporary: never restarted after a normal exit; its spec is removed', async () => {
    const { sup, waitForEvents } = setup('temporary')
    ;(await childOf(sup, 'w')).tell('quit')
    await waitForEvents('child-stopped', 1, 'w')
    expect(await statuses(sup)).toEqual({ other: 'running' })
  })
})
