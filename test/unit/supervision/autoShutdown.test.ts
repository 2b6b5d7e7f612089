import { describe, expect, it } from 'vitest'
import { ActorInitError, errorCode } from '../../../runtime/index.ts'
import { childSpec, InvalidChildSpecError, type InvalidSupervisorSpecError, SupervisionErrorCodes, Supervisor, validateChildSpec, type AutoShutdown, type RestartType, type SupervisorProtocol } from '../../../supervision/index.ts'
import { settle } from '../../../testing/index.ts'
import { childOf, Probe, statuses, testSystem, started } from './helpers.ts'

function setup(autoShutdown: AutoShutdown, first: RestartType = 'transient', second: RestartType = 'temporary') {
  const t = testSystem()
  const sup = t.system.spawn(Supervisor, {
    name: 'sup',
    args: [
      {
        autoShutdown,
        intensity: 5,
        children: [
          childSpec({ id: 'plain', actor: Probe, args: ['plain', t.log] }),
          childSpec({ id: 's1', actor: Probe, args: ['s1', t.log], restart: first, significant: true }),
          childSpec({ id: 's2', actor: Probe, args: ['s2', t.log], restart: second, significant: true }),
        ],
      },
    ],
  })
  return { ...t, sup, gone: t.system.watch(sup) }
}

describe('auto shutdown', () => {
  it('any_significant: a transient significant child exiting normally stops the supervisor (normally)', async () => {
    const { sup, gone, log, ofType } = setup('any_significant')
    ;(await childOf(sup, 's1')).tell('quit')
    expect((await gone).reason.kind).toBe('normal')
    expect(ofType('auto-shutdown')).toMatchObject([{ childId: 's1' }])
    expect(log.slice(-3)).toEqual(['stop s1', 'stop s2', 'stop plain'])
  })

  it('any_significant: a temporary significant child that crashes stops the supervisor', async () => {
    const { sup, gone, ofType } = setup('any_significant')
    ;(await childOf(sup, 's2')).tell('crash')
    expect((await gone).reason.kind).toBe('normal')
    expect(ofType('auto-shutdown')).toMatchObject([{ childId: 's2' }])
  })

  it('any_significant: a transient significant child that crashes is restarted, no shutdown', async () => {
    const { sup, waitForEvents, ofType } = setup('any_significant')
    ;(await childOf(sup, 's1')).tell('crash')
    await waitForEvents('child-restarted', 1, 's1')
    expect(ofType('auto-shutdown')).toEqual([])
    expect(await statuses(sup)).toEqual({ plain: 'running', s1: 'running', s2: 'running' })
  })

  it('all_significant: only the last significant child to go stops the supervisor', async () => {
    const { sup, gone, waitForEvents, ofType } = setup('all_significant')
    ;(await childOf(sup, 's1')).tell('quit')
    await waitForEvents('child-stopped', 1, 's1')
    await settle()
    expect(ofType('auto-shutdown')).toEqual([])
    expect(await statuses(sup)).toEqual({ plain: 'running', s1: 'terminated', s2: 'running' })
    ;(await childOf(sup, 's2')).tell('crash')
    expect((await gone).reason.kind).toBe('normal')
    expect(ofType('auto-shutdown')).toMatchObject([{ childId: 's2' }])
  })

  it('never: a significant child is rejected at start (OTP: significant children need an auto shutdown)', () => {
    let thrown: unknown
    try {
      setup('never')
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ActorInitError)
    const cause = (thrown as Error).cause as InvalidSupervisorSpecError
    expect(errorCode(cause)).toBe('ERR_INVALID_SUPERVISOR_SPEC')
    expect(cause.data).toEqual({ problems: ["child 's1' is significant but autoShutdown is 'never'", "child 's2' is significant but autoShutdown is 'never'"] })
  })

  it('terminateChild of a significant child is not an auto shutdown (OTP: only exits the child chose)', async () => {
    const { sup, ofType } = setup('any_significant')
    await sup.ask('terminateChild', 's1')
    await settle()
    expect(ofType('auto-shutdown')).toEqual([])
    expect(await statuses(sup)).toMatchObject({ s1: 'terminated', s2: 'running' })
  })

  it('an auto shutdown of a nested supervisor propagates when it is itself significant', async () => {
    const t = testSystem()
    const top = t.system.spawn(Supervisor, {
      args: [
        {
          autoShutdown: 'any_significant',
          children: [
            childSpec({
              id: 'mid',
              actor: Supervisor,
              restart: 'transient',
              significant: true,
              args: [{ autoShutdown: 'any_significant', children: [childSpec({ id: 'job', actor: Probe, args: ['job', t.log], restart: 'transient', significant: true })] }],
            }),
          ],
        },
      ],
    })
    const gone = t.system.watch(top)
    const mid = await childOf<SupervisorProtocol>(top, 'mid')
    ;(await childOf(mid, 'job')).tell('quit')
    expect((await gone).reason.kind).toBe('normal')
    expect(t.ofType('auto-shutdown').map((e) => e.childId)).toEqual(['job', 'mid'])
  })

  it('a significant permanent child is rejected (ERR_INVALID_SUPERVISOR_SPEC at start, ERR_INVALID_CHILD_SPEC by startChild)', async () => {
    const t = testSystem()
    const bad = { id: 'bad', actor: Probe, args: ['bad', t.log] as [string, string[]], significant: true }
    expect(() => validateChildSpec(bad)).toThrow(InvalidChildSpecError)
    expect(() => validateChildSpec({ ...bad, restart: 'permanent' })).toThrow(/transient or temporary/)
    expect(() => validateChildSpec({ ...bad, restart: 'transient' })).not.toThrow()
    // At spawn: the supervisor's constructor rejects the spec, so the spawn itself throws.
    let thrown: unknown
    try {
      t.system.spawn(Supervisor, { args: [{ children: [bad] }] })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ActorInitError)
    expect(errorCode((thrown as Error).cause)).toBe(SupervisionErrorCodes.InvalidSupervisorSpec)
    expect(((thrown as Error).cause as InvalidSupervisorSpecError).data).toEqual({
      problems: ["child 'bad': a significant child must be transient or temporary", "child 'bad' is significant but autoShutdown is 'never'"],
    })
    // At run time: startChild rejects.
    const sup = t.system.spawn(Supervisor, { args: [{ children: [] }] })
    const error = await started(sup.ask('startChild', bad)).catch((e: unknown) => e)
    expect(errorCode(error)).toBe('ERR_INVALID_CHILD_SPEC')
  })
})
