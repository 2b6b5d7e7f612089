/**
 * Model-based test of OTP's child administration API (start_child, terminate_child, restart_child,
 * delete_child, which_children, count_children) in random order against a reference model of OTP's
 * rules, with children whose start succeeds, fails (preStart throws) or returns ignore. fast-check
 * prints the seed and the shrunk command list on failure; `TROUPE_FUZZ_RUNS` runs it longer.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errorCode, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, Supervisor, type RestartType, type StartChildResult, type SupervisorProtocol } from '../../../supervision/index.ts'
import { Probe, testSystem } from './helpers.ts'

type Mode = 'ok' | 'fail' | 'ignore'
const IDS = ['a', 'b', 'c'] as const

interface Model {
  /** In start order. */
  children: { id: string; restart: RestartType; running: boolean }[]
  modes: Map<string, Mode>
}

interface Real {
  readonly sup: ActorRef<SupervisorProtocol>
  readonly modes: Map<string, Mode>
  readonly log: string[]
}

/** The outcome of an API call: ok (with whether a ref came back) or the error code. */
async function outcome(call: Promise<StartChildResult | void>): Promise<string> {
  try {
    const result = await call
    if (result === undefined) return 'ok'
    return result.ref === null ? 'ok:ignored' : 'ok:started'
  } catch (error) {
    return errorCode(error) ?? String(error)
  }
}

const find = (m: Model, id: string) => m.children.find((c) => c.id === id)

class SetMode implements fc.AsyncCommand<Model, Real> {
  readonly id: string
  readonly mode: Mode
  constructor(id: string, mode: Mode) {
    this.id = id
    this.mode = mode
  }
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    m.modes.set(this.id, this.mode)
    r.modes.set(this.id, this.mode)
  }
  toString = () => `mode(${this.id}, ${this.mode})`
}

class StartChild implements fc.AsyncCommand<Model, Real> {
  readonly id: string
  readonly restart: RestartType
  constructor(id: string, restart: RestartType) {
    this.id = id
    this.restart = restart
  }
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const id = this.id
    const spec = childSpec({
      id,
      restart: this.restart,
      start: async (spawn) => {
        const mode = r.modes.get(id) ?? 'ok'
        if (mode === 'ignore') return 'ignore' as const
        return spawn(Probe, { args: [id, r.log, { failStart: () => mode === 'fail' }] })
      },
    })
    const got = await outcome(r.sup.ask('startChild', spec))
    const existing = find(m, id)
    let expected: string
    const mode = m.modes.get(id) ?? 'ok'
    if (existing !== undefined) expected = existing.running ? 'ERR_ALREADY_STARTED' : 'ERR_ALREADY_PRESENT'
    else if (mode === 'fail') expected = 'ERR_CHILD_START'
    else if (mode === 'ignore') {
      expected = 'ok:ignored'
      if (this.restart !== 'temporary') m.children.push({ id, restart: this.restart, running: false })
    } else {
      expected = 'ok:started'
      m.children.push({ id, restart: this.restart, running: true })
    }
    expect(got).toBe(expected)
  }
  toString = () => `startChild(${this.id}, ${this.restart})`
}

class TerminateChild implements fc.AsyncCommand<Model, Real> {
  readonly id: string
  constructor(id: string) {
    this.id = id
  }
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const got = await outcome(r.sup.ask('terminateChild', this.id))
    const child = find(m, this.id)
    if (child === undefined) return void expect(got).toBe('ERR_UNKNOWN_CHILD')
    expect(got).toBe('ok')
    child.running = false
    if (child.restart === 'temporary') m.children = m.children.filter((c) => c !== child)
  }
  toString = () => `terminateChild(${this.id})`
}

class RestartChild implements fc.AsyncCommand<Model, Real> {
  readonly id: string
  constructor(id: string) {
    this.id = id
  }
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const got = await outcome(r.sup.ask('restartChild', this.id))
    const child = find(m, this.id)
    const mode = m.modes.get(this.id) ?? 'ok'
    if (child === undefined) return void expect(got).toBe('ERR_UNKNOWN_CHILD')
    if (child.running) return void expect(got).toBe('ERR_CHILD_RUNNING')
    if (mode === 'fail') return void expect(got).toBe('ERR_CHILD_START')
    expect(got).toBe(mode === 'ignore' ? 'ok:ignored' : 'ok:started')
    child.running = mode === 'ok'
  }
  toString = () => `restartChild(${this.id})`
}

class DeleteChild implements fc.AsyncCommand<Model, Real> {
  readonly id: string
  constructor(id: string) {
    this.id = id
  }
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const got = await outcome(r.sup.ask('deleteChild', this.id))
    const child = find(m, this.id)
    if (child === undefined) return void expect(got).toBe('ERR_UNKNOWN_CHILD')
    if (child.running) return void expect(got).toBe('ERR_CHILD_RUNNING')
    expect(got).toBe('ok')
    m.children = m.children.filter((c) => c !== child)
  }
  toString = () => `deleteChild(${this.id})`
}

class WhichAndCount implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const which = await r.sup.ask('whichChildren')
    expect(which.map((c) => [c.id, c.status, c.restart, c.ref !== null])).toEqual(m.children.map((c) => [c.id, c.running ? 'running' : 'terminated', c.restart, c.running]))
    const running = m.children.filter((c) => c.running).length
    expect(await r.sup.ask('countChildren')).toEqual({ specs: m.children.length, active: running, supervisors: 0, workers: m.children.length })
    for (const id of IDS) {
      const ref = await r.sup.ask('lookupChild', id)
      expect(ref !== null).toBe(find(m, id)?.running === true)
    }
  }
  toString = () => 'whichChildren+countChildren'
}

const id = fc.constantFrom(...IDS)
const commands = [
  fc.tuple(id, fc.constantFrom<Mode>('ok', 'fail', 'ignore')).map(([i, mode]) => new SetMode(i, mode)),
  fc.tuple(id, fc.constantFrom<RestartType>('permanent', 'transient', 'temporary')).map(([i, restart]) => new StartChild(i, restart)),
  id.map((i) => new TerminateChild(i)),
  id.map((i) => new RestartChild(i)),
  id.map((i) => new DeleteChild(i)),
  fc.constant(new WhichAndCount()),
]

describe('OTP admin API against a model', () => {
  it('start/terminate/restart/delete/which/count in random order match OTP, children failing to start included', async () => {
    const runs = Number(process.env['TROUPE_FUZZ_RUNS'] ?? 60)
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const t = testSystem()
        const sup = t.system.spawn(Supervisor, { args: [{ intensity: 'unlimited', children: [] }] })
        const model: Model = { children: [], modes: new Map() }
        const real: Real = { sup, modes: new Map(), log: t.log }
        try {
          await fc.asyncModelRun(() => ({ model, real }), [...cmds, new WhichAndCount()])
        } finally {
          await t.system.terminate()
        }
      }),
      { numRuns: runs, verbose: 1 },
    )
  }, 60_000)
})
