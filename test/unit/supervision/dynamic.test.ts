import { describe, expect, it } from 'vitest'
import { errorCode, LifecycleTopic, type ActorRef, type LifecycleEvent } from '../../../runtime/index.ts'
import {
  ChildAlreadyPresentError,
  ChildAlreadyStartedError,
  ChildRunningError,
  ChildStartError,
  childSpec,
  DynamicSupervisor,
  SupervisionErrorCodes,
  Supervisor,
  TooManyChildrenError,
  UnknownChildError,
  type DynamicSupervisorProtocol,
  type RestartType,
} from '../../../supervision/index.ts'
import { settle } from '../../../testing/index.ts'
import { childOf, Probe, statuses, testSystem, type ProbeProtocol, started } from './helpers.ts'

function dynamic(restart: RestartType, maxChildren?: number) {
  const t = testSystem()
  const sup = t.system.spawn(DynamicSupervisor, {
    name: 'pool',
    args: [{ intensity: 10, periodMs: 1000, child: { actor: Probe, restart }, ...(maxChildren === undefined ? {} : { maxChildren }) }],
  }) as ActorRef<DynamicSupervisorProtocol<typeof Probe>>
  return { ...t, sup }
}

describe('DynamicSupervisor', () => {
  it('starts children from the template with per-call args; lists and counts them', async () => {
    const { sup, log } = dynamic('permanent')
    // OTP count_children: a dynamic pool has one spec, its template.
    expect(await sup.ask('countChildren')).toEqual({ specs: 1, active: 0, supervisors: 0, workers: 0 })
    const one: ActorRef<ProbeProtocol> = await started(sup.ask('startChild', 'one', log))
    const two = await started(sup.ask('startChild', 'two', log))
    expect(await one.ask('ping')).toBe('pong one')
    expect(await two.ask('ping')).toBe('pong two')
    expect(log).toEqual(['start one', 'start two'])
    const children = await sup.ask('whichChildren')
    expect(children.map((c) => [c.id, c.status, c.kind, c.restart])).toEqual([
      ['probe-0', 'running', 'worker', 'permanent'],
      ['probe-1', 'running', 'worker', 'permanent'],
    ])
    expect(children[0]?.ref?.equals(one)).toBe(true)
    expect(await sup.ask('countChildren')).toEqual({ specs: 1, active: 2, supervisors: 0, workers: 2 })
  })

  it('maxChildren: one more start rejects with ERR_TOO_MANY_CHILDREN', async () => {
    const { sup, log } = dynamic('permanent', 2)
    await started(sup.ask('startChild', 'one', log))
    await started(sup.ask('startChild', 'two', log))
    const error = await started(sup.ask('startChild', 'three', log)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TooManyChildrenError)
    expect(errorCode(error)).toBe(SupervisionErrorCodes.TooManyChildren)
    expect((error as TooManyChildrenError).data).toEqual({ maxChildren: 2 })
  })

  it('terminateChild stops a dynamic child, forgets it and frees its slot', async () => {
    const { system, sup, log } = dynamic('permanent', 2)
    const one = await started(sup.ask('startChild', 'one', log))
    await started(sup.ask('startChild', 'two', log))
    await sup.ask('terminateChild', one)
    expect((await system.watch(one)).reason.kind).toBe('shutdown')
    expect(log).toContain('stop one')
    expect(await sup.ask('countChildren')).toMatchObject({ specs: 1, active: 1 })
    expect(await (await started(sup.ask('startChild', 'three', log))).ask('ping')).toBe('pong three')
  })

  it('API errors (ERR_TOO_MANY_CHILDREN, ERR_UNKNOWN_CHILD) reach the caller without failing the supervisor', async () => {
    const { system, sup, log } = dynamic('permanent', 1)
    const lifecycle: LifecycleEvent[] = []
    system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
    const one = await started(sup.ask('startChild', 'one', log))
    await started(sup.ask('startChild', 'two', log)).catch(() => undefined)
    await sup.ask('terminateChild', system.spawn(Probe, { args: ['x', log] })).catch(() => undefined)
    await settle()
    expect(lifecycle.filter((e) => e.event === 'failed')).toEqual([])
    expect((await sup.ask('whichChildren'))[0]?.ref?.equals(one)).toBe(true)
    expect(log).not.toContain('stop one')
  })

  it('a dynamic child that fails to start: ChildStartError, and no trace of it', async () => {
    const { sup, log } = dynamic('permanent')
    const error = await started(sup.ask('startChild', 'bad', log, { failStart: () => true })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChildStartError)
    expect((error as ChildStartError).data).toEqual({ childId: 'probe-0' })
    expect(await sup.ask('countChildren')).toMatchObject({ specs: 1, active: 0 })
    expect(await sup.ask('whichChildren')).toEqual([])
  })

  it('terminateChild of an unknown ref rejects with ERR_UNKNOWN_CHILD', async () => {
    const { system, sup, log } = dynamic('permanent')
    const stranger = system.spawn(Probe, { args: ['x', log] })
    expect(await sup.ask('terminateChild', stranger).catch((e: unknown) => e)).toBeInstanceOf(UnknownChildError)
  })

  it('restarts a crashed dynamic child in place with its own args', async () => {
    const { sup, log, waitForEvents } = dynamic('permanent')
    const one = await started(sup.ask('startChild', 'one', log))
    await one.ask('inc')
    one.tell('crash')
    await waitForEvents('child-restarted', 1)
    expect(await one.ask('ping')).toBe('pong one')
    expect(await one.ask('count')).toBe(0)
    expect((await sup.ask('whichChildren'))[0]).toMatchObject({ restarts: 1, status: 'running' })
  })

  it('a permanent dynamic child that exits normally comes back as a new incarnation', async () => {
    const { sup, log, waitForEvents } = dynamic('permanent')
    const one = await started(sup.ask('startChild', 'one', log))
    one.tell('quit')
    await waitForEvents('child-restarted', 1)
    const [info] = await sup.ask('whichChildren')
    expect(info?.ref?.equals(one)).toBe(false)
    expect(await (info?.ref as ActorRef<ProbeProtocol>).ask('ping')).toBe('pong one')
  })

  it('a temporary dynamic child that crashes is gone, slot and all', async () => {
    const { sup, log, waitForEvents } = dynamic('temporary', 1)
    const one = await started(sup.ask('startChild', 'one', log))
    one.tell('crash')
    await waitForEvents('child-stopped', 1)
    await settle()
    expect(await sup.ask('whichChildren')).toEqual([])
    await started(sup.ask('startChild', 'two', log))
  })

  it('a transient dynamic child that exits normally is removed, as in OTP simple_one_for_one', async () => {
    const { sup, log, waitForEvents } = dynamic('transient', 1)
    const one = await started(sup.ask('startChild', 'one', log))
    one.tell('quit')
    await waitForEvents('child-stopped', 1)
    await settle()
    expect(await sup.ask('whichChildren')).toEqual([])
    // Its slot is free again.
    await started(sup.ask('startChild', 'two', log))
  })
})

describe('Supervisor dynamic management', () => {
  function setup() {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, {
      name: 'sup',
      args: [{ children: [childSpec({ id: 'a', actor: Probe, args: ['a', t.log] }), childSpec({ id: 'tmp', actor: Probe, args: ['tmp', t.log], restart: 'temporary' })] }],
    })
    return { ...t, sup }
  }

  it('whichChildren reports id, ref, status, kind, restart type, significance and restarts, in start order', async () => {
    const { sup } = setup()
    const a = await childOf(sup, 'a')
    const children = await sup.ask('whichChildren')
    expect(children).toEqual([
      { id: 'a', ref: a, status: 'running', kind: 'worker', restart: 'permanent', significant: false, restarts: 0 },
      { id: 'tmp', ref: expect.anything(), status: 'running', kind: 'worker', restart: 'temporary', significant: false, restarts: 0 },
    ])
    expect(await sup.ask('countChildren')).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 })
  })

  it('startChild adds a child at the end: it is stopped first', async () => {
    const { system, sup, log } = setup()
    const b = await started(sup.ask('startChild', childSpec({ id: 'b', actor: Probe, args: ['b', log] })))
    expect(await b.ask('ping')).toBe('pong b')
    expect(await sup.ask('countChildren')).toEqual({ specs: 3, active: 3, supervisors: 0, workers: 3 })
    log.length = 0
    await system.stop(sup)
    expect(log).toEqual(['stop b', 'stop tmp', 'stop a'])
  })

  it('OTP start_child: an id that runs is {already_started, Child} (ERR_ALREADY_STARTED with the ref), a kept one already_present', async () => {
    const { sup, log } = setup()
    const a = await childOf(sup, 'a')
    const duplicate = await sup.ask('startChild', childSpec({ id: 'a', actor: Probe, args: ['a2', log] })).catch((e: unknown) => e)
    expect(duplicate).toBeInstanceOf(ChildAlreadyStartedError)
    expect(errorCode(duplicate)).toBe('ERR_ALREADY_STARTED')
    expect((duplicate as ChildAlreadyStartedError).data).toEqual({ childId: 'a', ref: a })
    await sup.ask('terminateChild', 'a')
    const present = await sup.ask('startChild', childSpec({ id: 'a', actor: Probe, args: ['a2', log] })).catch((e: unknown) => e)
    expect(present).toBeInstanceOf(ChildAlreadyPresentError)
    expect(errorCode(present)).toBe('ERR_ALREADY_PRESENT')
    expect(log).not.toContain('start a2')
  })

  it('restartChild / deleteChild of a running child reject with ERR_CHILD_RUNNING', async () => {
    for (const op of ['restartChild', 'deleteChild'] as const) {
      const { sup } = setup()
      const error = await sup.ask(op, 'a').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ChildRunningError)
      expect(errorCode(error)).toBe('ERR_CHILD_RUNNING')
    }
  })

  it('an unknown id rejects with ERR_UNKNOWN_CHILD', async () => {
    for (const op of ['deleteChild', 'terminateChild', 'restartChild'] as const) {
      const { sup } = setup()
      const error = await sup.ask(op, 'nope').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(UnknownChildError)
      expect(errorCode(error)).toBe('ERR_UNKNOWN_CHILD')
      expect((error as UnknownChildError).data).toEqual({ childId: 'nope' })
    }
  })

  it('API errors reach the caller without failing the supervisor (its children keep running)', async () => {
    const { system, sup, log } = setup()
    const lifecycle: LifecycleEvent[] = []
    system.subscribe(LifecycleTopic, (e) => lifecycle.push(e))
    const a = await childOf(sup, 'a')
    await started(sup.ask('startChild', childSpec({ id: 'a', actor: Probe, args: ['a2', log] }))).catch(() => undefined)
    await started(sup.ask('restartChild', 'a')).catch(() => undefined)
    await sup.ask('deleteChild', 'a').catch(() => undefined)
    await sup.ask('terminateChild', 'nope').catch(() => undefined)
    await settle()
    expect(lifecycle.filter((e) => e.event === 'failed')).toEqual([])
    expect(log).toEqual(['start a', 'start tmp'])
    expect((await childOf(sup, 'a')).equals(a)).toBe(true)
  })

  it('terminateChild keeps the spec; restartChild starts it again (new ref); restartChild on a running child is ERR_CHILD_RUNNING', async () => {
    const { sup, log } = setup()
    const a = await childOf(sup, 'a')
    const running = await started(sup.ask('restartChild', 'a')).catch((e: unknown) => e)
    expect(running).toBeInstanceOf(ChildRunningError)
    expect(errorCode(running)).toBe('ERR_CHILD_RUNNING')

    await sup.ask('terminateChild', 'a')
    expect(log).toContain('stop a')
    expect((await sup.ask('whichChildren'))[0]).toMatchObject({ id: 'a', ref: null, status: 'terminated' })
    expect(await sup.ask('countChildren')).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 })
    expect(await sup.ask('lookupChild', 'a')).toBeNull()

    const again = await started(sup.ask('restartChild', 'a'))
    expect(again.equals(a)).toBe(false)
    expect(await again.ask('ping')).toBe('pong a')
    expect(await statuses(sup)).toEqual({ a: 'running', tmp: 'running' })
  })

  it('restartChild that fails to start rejects with ChildStartError; the spec stays terminated', async () => {
    const t = testSystem()
    let failing = false
    const sup = t.system.spawn(Supervisor, { args: [{ children: [childSpec({ id: 'a', actor: Probe, args: ['a', t.log, { failStart: () => failing }] })] }] })
    await sup.ask('terminateChild', 'a')
    failing = true
    const error = await started(sup.ask('restartChild', 'a')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ChildStartError)
    expect(errorCode(error)).toBe('ERR_CHILD_START')
  })

  it('terminateChild of a temporary child removes its spec', async () => {
    const { sup } = setup()
    await sup.ask('terminateChild', 'tmp')
    expect(await statuses(sup)).toEqual({ a: 'running' })
  })

  it('deleteChild removes a terminated spec', async () => {
    const { sup } = setup()
    await sup.ask('terminateChild', 'a')
    await sup.ask('deleteChild', 'a')
    expect(await statuses(sup)).toEqual({ tmp: 'running' })
    expect(await sup.ask('countChildren')).toEqual({ specs: 1, active: 1, supervisors: 0, workers: 1 })
  })

  it('a terminated child is not restarted by a sibling crash under one_for_all', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, {
      args: [{ strategy: 'one_for_all', intensity: 5, children: ['a', 'b', 'c'].map((id) => childSpec({ id, actor: Probe, args: [id, t.log] })) }],
    })
    await sup.ask('terminateChild', 'b')
    ;(await childOf(sup, 'c')).tell('crash')
    await t.waitForEvents('child-restarted', 2)
    await settle()
    expect(await statuses(sup)).toEqual({ a: 'running', b: 'terminated', c: 'running' })
  })
})
