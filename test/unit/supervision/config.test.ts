/**
 * OTP supervisor_SUITE's sup_flags and child_specs cases: a supervisor checks its whole
 * configuration when it is built and answers with one typed error that lists every problem.
 */
import { describe, expect, it } from 'vitest'
import { ActorInitError, errorCode } from '../../../runtime/index.ts'
import { childSpec, DynamicSupervisor, dynamicSpecProblems, InvalidSupervisorSpecError, Supervisor, supervisorSpecProblems, type SupervisorSpec } from '../../../supervision/index.ts'
import { Probe, testSystem } from './helpers.ts'

const log: string[] = []
const good = childSpec({ id: 'w', actor: Probe, args: ['w', log] })

/** The InvalidSupervisorSpecError a spawn of `actor` with `spec` throws. */
function refusal(actor: typeof Supervisor | typeof DynamicSupervisor, spec: unknown): InvalidSupervisorSpecError {
  const t = testSystem()
  let thrown: unknown
  try {
    t.system.spawn(actor as typeof Supervisor, { args: [spec as SupervisorSpec] })
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ActorInitError)
  const cause = (thrown as Error).cause
  expect(cause).toBeInstanceOf(InvalidSupervisorSpecError)
  expect(errorCode(cause)).toBe('ERR_INVALID_SUPERVISOR_SPEC')
  return cause as InvalidSupervisorSpecError
}

describe('supervisor configuration (OTP sup_flags, child_specs)', () => {
  it('sup_flags: every bad flag is listed in one error', () => {
    const error = refusal(Supervisor, { strategy: 'one_for_some', intensity: 1.5, periodMs: 0, autoShutdown: 'sometimes', children: [] })
    expect((error.data as { problems: string[] }).problems).toEqual([
      "unknown strategy 'one_for_some'",
      'intensity must be an integer >= 0 or \'unlimited\', got 1.5',
      'periodMs must be a finite number > 0, got 0',
      "unknown autoShutdown 'sometimes'",
    ])
    expect(log).toEqual([]) // nothing was started
  })

  it('sup_flags: intensity negative or infinite, period infinite; unlimited is spelled out', () => {
    expect(supervisorSpecProblems({ intensity: -1, children: [] })).toEqual(["intensity must be an integer >= 0 or 'unlimited', got -1"])
    expect(supervisorSpecProblems({ intensity: Infinity, children: [] })).toEqual(["intensity must be an integer >= 0 or 'unlimited', got Infinity"])
    expect(supervisorSpecProblems({ periodMs: Infinity, children: [] })).toEqual(['periodMs must be a finite number > 0, got Infinity'])
    expect(supervisorSpecProblems({ intensity: 'unlimited', periodMs: 1, children: [good] })).toEqual([])
  })

  it('child_specs: specs without id or start, duplicate ids, and a significant child under autoShutdown never', () => {
    const error = refusal(Supervisor, {
      children: [good, good, { actor: Probe, args: [] }, { id: 'nothing' }, { ...good, id: 'sig', restart: 'transient', significant: true }],
    })
    expect((error.data as { problems: string[] }).problems).toEqual([
      "duplicate child id 'w'",
      'a child spec has no id',
      "child 'nothing' has no actor class and no start function",
      "child 'sig' is significant but autoShutdown is 'never'",
    ])
  })

  it('simple_one_for_one flags: exactly one child spec, no auto shutdown, strategy one_for_one', () => {
    const error = refusal(DynamicSupervisor, { autoShutdown: 'any_significant', children: [good] })
    expect((error.data as { problems: string[] }).problems).toEqual([
      "a dynamic pool cannot have autoShutdown 'any_significant' (OTP: simple_one_for_one)",
      'a dynamic pool has exactly one child spec: give it as `child`, not `children`',
      'a dynamic pool needs exactly one child spec (`child`)',
    ])
    expect(dynamicSpecProblems({ strategy: 'one_for_all', child: { actor: Probe }, maxChildren: -1 })).toEqual([
      "a dynamic pool's strategy is always one_for_one, got 'one_for_all'",
      'maxChildren must be an integer >= 0, got -1',
    ])
    expect(dynamicSpecProblems({ child: { actor: Probe, restart: 'temporary' }, maxChildren: 10 })).toEqual([])
  })
})
