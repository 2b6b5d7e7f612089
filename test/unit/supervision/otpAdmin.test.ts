/**
 * OTP supervisor_SUITE cases for the admin API and start results, through the public API: `ignore`
 * from a start function, `{ok, Child, Info}` (extra_return), already_started / already_present,
 * idempotent terminate_child, restarting refusals, and temporary children's start arguments.
 */
import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { describe, expect, it } from 'vitest'
import { Actor, errorCode, type ActorRef } from '../../../runtime/index.ts'
import {
  ChildRestartingError,
  childSpec,
  DynamicSupervisor,
  Supervisor,
  type ChildSpawner,
  type DynamicSupervisorProtocol,
  type StartResult,
} from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, Probe, started, statuses, testSystem, type ProbeProtocol } from './helpers.ts'

/** A start function that answers `'ignore'` while `ignoring()` says so, else spawns a Probe and returns info. */
function ignorable(label: string, log: string[], ignoring: () => boolean) {
  return async (spawn: ChildSpawner): Promise<StartResult> => {
    if (ignoring()) return 'ignore'
    const ref = await spawn(Probe, { args: [label, log] })
    return { ref, info: { label } }
  }
}

describe('OTP start results', () => {
  it('sup_start_ignore_child: a static child whose start returns ignore is kept, with no ref', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, {
      args: [{ children: [childSpec({ id: 'skipped', start: () => 'ignore' as const }), childSpec({ id: 'a', actor: Probe, args: ['a', t.log] })] }],
    })
    await childOf(sup, 'a')
    expect(await sup.ask('whichChildren')).toMatchObject([{ id: 'skipped', ref: null, status: 'terminated' }, { id: 'a', status: 'running' }])
    expect(await sup.ask('countChildren')).toEqual({ specs: 2, active: 1, supervisors: 0, workers: 2 })
    expect(t.ofType('start-ignored').map((e) => e.childId)).toEqual(['skipped'])
  })

  it('sup_start_ignore_temporary_child_start_child: start_child of an ignored temporary child returns no ref and records nothing', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ children: [] }] })
    expect(await sup.ask('startChild', childSpec({ id: 'tmp', restart: 'temporary', start: () => 'ignore' as const }))).toEqual({ ref: null })
    expect(await sup.ask('whichChildren')).toEqual([])
    // A permanent one keeps its spec (already_present afterwards), and restartChild may start it later.
    let ignoring = true
    const spec = childSpec({ id: 'perm', start: ignorable('perm', t.log, () => ignoring) })
    expect(await sup.ask('startChild', spec)).toEqual({ ref: null })
    expect(errorCode(await sup.ask('startChild', spec).catch((e: unknown) => e))).toBe('ERR_ALREADY_PRESENT')
    ignoring = false
    const again = await sup.ask('restartChild', 'perm')
    expect(again.info).toEqual({ label: 'perm' })
    expect(await (again.ref as ActorRef<ProbeProtocol>).ask('ping')).toBe('pong perm')
  })

  it('extra_return: the info a start function returns with the ref is passed through start_child and restart_child', async () => {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ children: [] }] })
    const result = await sup.ask('startChild', childSpec({ id: 'x', start: ignorable('x', t.log, () => false) }))
    expect(result.info).toEqual({ label: 'x' })
    expect(result.ref?.equals(await childOf(sup, 'x'))).toBe(true)
    // A start function must return the child it spawned with the spawn function it got.
    const stray = t.system.spawn(Probe, { args: ['stray', t.log] })
    const error = await sup.ask('startChild', childSpec({ id: 'liar', start: () => stray })).catch((e: unknown) => e)
    expect(errorCode(error)).toBe('ERR_CHILD_START')
    expect(await statuses(sup)).toEqual({ x: 'running' })
  })

  it('simple_one_for_one ignore: not recorded at start; a restart that returns ignore removes the child', async () => {
    const t = testSystem()
    let ignoring = false
    const pool = t.system.spawn(DynamicSupervisor, {
      args: [{ intensity: 10, child: { start: (spawn, label: string, log: string[]) => ignorable(label, log, () => ignoring)(spawn) } }],
    }) as ActorRef<DynamicSupervisorProtocol<typeof Probe>>
    ignoring = true
    expect(await pool.ask('startChild', 'never', t.log)).toEqual({ ref: null })
    expect(await pool.ask('countChildren')).toMatchObject({ specs: 1, active: 0 })
    ignoring = false
    const one = await started(pool.ask('startChild', 'one', t.log))
    ignoring = true
    one.tell('quit') // a permanent child that exits is started anew: its start now says ignore
    await t.waitForEvents('start-ignored', 2)
    await waitFor(() => t.events.length > 0 && t.ofType('start-ignored').length === 2)
    expect(await pool.ask('whichChildren')).toEqual([])
  })
})

describe('OTP child administration', () => {
  function setup() {
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, {
      args: [{ intensity: 10, children: [childSpec({ id: 'a', actor: Probe, args: ['a', t.log] }), childSpec({ id: 'b', actor: Probe, args: ['b', t.log], backoff: { minMs: 1000, maxMs: 1000 } })] }],
    })
    return { ...t, sup }
  }

  it('child_adm: terminate_child is idempotent; a terminated child can be restarted, then deleted', async () => {
    const { sup } = setup()
    await sup.ask('terminateChild', 'a')
    await sup.ask('terminateChild', 'a') // ok again, nothing to do
    expect(await statuses(sup)).toEqual({ a: 'terminated', b: 'running' })
    await sup.ask('restartChild', 'a')
    await sup.ask('terminateChild', 'a')
    await sup.ask('deleteChild', 'a')
    expect(errorCode(await sup.ask('deleteChild', 'a').catch((e: unknown) => e))).toBe('ERR_UNKNOWN_CHILD')
  })

  it('restart_child / delete_child of a restarting child: {error, restarting}; start_child: already_started', async () => {
    const { sup, waitForEvents } = setup()
    const b = await childOf(sup, 'b')
    b.tell('crash')
    await waitForEvents('restart-scheduled', 1) // waiting out its backoff
    for (const op of ['restartChild', 'deleteChild'] as const) {
      const error = await sup.ask(op, 'b').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ChildRestartingError)
      expect(errorCode(error)).toBe('ERR_CHILD_RESTARTING')
    }
    const startAgain = await sup.ask('startChild', childSpec({ id: 'b', actor: Probe, args: ['b2', []] })).catch((e: unknown) => e)
    expect(errorCode(startAgain)).toBe('ERR_ALREADY_STARTED')
    expect(await sup.ask('countChildren')).toEqual({ specs: 2, active: 2, supervisors: 0, workers: 2 })
  })
})

/** Reads its configuration in the constructor and keeps only what it needs, not the object. */
class Reader extends Actor<{ size(): number }> {
  private readonly n: number
  constructor(config: { readonly size: number }) {
    super()
    this.n = config.size
  }
  size(): number {
    return this.n
  }
}

describe('OTP temporary children', () => {
  it('do_not_save_start_parameters_for_temporary_children: neither the supervisor nor the cell keeps the args once started', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const t = testSystem()
    const sup = t.system.spawn(Supervisor, { args: [{ children: [] }] })
    const pool = t.system.spawn(DynamicSupervisor, { args: [{ child: { actor: Reader, restart: 'temporary' } }] }) as ActorRef<DynamicSupervisorProtocol<typeof Reader>>
    const temporary: WeakRef<object>[] = []
    const permanent: WeakRef<object>[] = []
    // Built in a function, so no local of this test holds the configs.
    const startAll = async () => {
      for (const restart of ['temporary', 'permanent'] as const) {
        const config = { size: 7 }
        ;(restart === 'temporary' ? temporary : permanent).push(new WeakRef(config))
        await sup.ask('startChild', childSpec({ id: restart, actor: Reader, args: [config], restart }))
      }
      const config = { size: 8 }
      temporary.push(new WeakRef(config))
      await pool.ask('startChild', config)
    }
    await startAll()
    await settle()
    await waitFor(() => {
      gc()
      return temporary.every((w) => w.deref() === undefined)
    })
    // A permanent child's args are kept: it may be started again from them.
    expect(permanent[0]?.deref()).toBeDefined()
    expect(await (await childOf<{ size(): number }>(sup, 'temporary')).ask('size')).toBe(7)
    expect((await pool.ask('whichChildren')).map((c) => c.status)).toEqual(['running'])
  })
})
