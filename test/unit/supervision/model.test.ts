/**
 * Model-based test of a one_for_one supervisor with children of every restart type: random sequences
 * of crashes, normal exits, virtual time, and dynamic management, checked after every command
 * against a small model (which children exist and run, how often each was restarted, whether the
 * supervisor gave up). fast-check prints the seed and the shrunk command list on failure.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ActorSystem, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, SupervisorGaveUpError, type RestartType, type SupervisorEvent, type SupervisorProtocol } from '../../../supervision/index.ts'
import { settle, VirtualClock, waitFor } from '../../../testing/index.ts'
import { Probe, type ProbeProtocol, started } from './helpers.ts'

const INTENSITY = 3
const PERIOD_MS = 1000

interface ModelChild {
  readonly id: string
  readonly restart: RestartType
  alive: boolean
  restarts: number
}

interface Model {
  now: number
  children: ModelChild[]
  /** When each restart inside the intensity window happened. */
  restartTimes: number[]
  gaveUp: boolean
  /** Decision events (restarted, stopped, gave up) the supervisor should have published so far. */
  decisions: number
  nextId: number
}

interface Real {
  readonly system: ActorSystem
  readonly clock: VirtualClock
  readonly sup: ActorRef<SupervisorProtocol>
  readonly events: SupervisorEvent[]
  readonly log: string[]
}

const DECISIONS: ReadonlySet<SupervisorEvent['type']> = new Set(['child-restarted', 'child-stopped', 'gave-up'])

// ------------------------------------------------------------------ the model's rules (OTP's)

/** A restart at `now`: false when it exceeds the sliding window, i.e. the supervisor gives up. */
function recordRestart(m: Model): boolean {
  m.restartTimes = m.restartTimes.filter((t) => t > m.now - PERIOD_MS)
  m.restartTimes.push(m.now)
  return m.restartTimes.length <= INTENSITY
}

/** A child exited by itself (crash = abnormal, or a normal stop): apply its restart type. */
function childExited(m: Model, child: ModelChild, abnormal: boolean): void {
  if (m.gaveUp) return
  const restarts = child.restart === 'permanent' || (child.restart === 'transient' && abnormal)
  m.decisions++
  if (!restarts) {
    if (child.restart === 'temporary') m.children = m.children.filter((c) => c !== child)
    else child.alive = false
    return
  }
  if (!recordRestart(m)) {
    m.gaveUp = true
    return
  }
  child.restarts++
}

const alive = (m: Readonly<Model>) => m.children.filter((c) => c.alive)
const terminated = (m: Readonly<Model>) => m.children.filter((c) => !c.alive)
const pick = <T>(list: readonly T[], k: number): T => list[k % list.length] as T

// ------------------------------------------------------------------ checking real against model

async function runningRef(r: Real, id: string): Promise<ActorRef<ProbeProtocol>> {
  const ref = (await r.sup.ask('lookupChild', id)) as ActorRef<ProbeProtocol> | null
  if (ref === null) throw new Error(`child '${id}' is not running`)
  return ref
}

async function settleAndCompare(m: Model, r: Real): Promise<void> {
  const decisions = () => r.events.filter((e) => DECISIONS.has(e.type)).length
  await waitFor(() => decisions() >= m.decisions, { message: `expected ${m.decisions} decision events, saw ${decisions()}` })
  await settle()
  expect(decisions()).toBe(m.decisions)
  if (m.gaveUp) {
    await waitFor(() => r.system.isTerminated)
    expect(r.system.failure).toBeInstanceOf(SupervisorGaveUpError)
    return
  }
  expect(r.system.isTerminated).toBe(false)
  const children = await r.sup.ask('whichChildren')
  expect(children.map((c) => ({ id: c.id, status: c.status, restarts: c.restarts }))).toEqual(
    m.children.map((c) => ({ id: c.id, status: c.alive ? 'running' : 'terminated', restarts: c.restarts })),
  )
  for (const child of alive(m)) expect(await (await runningRef(r, child.id)).ask('ping')).toBe(`pong ${child.id}`)
}

// ------------------------------------------------------------------ commands

type Command = fc.AsyncCommand<Model, Real>

function command(name: string, check: (m: Readonly<Model>) => boolean, run: (m: Model, r: Real) => Promise<void>): Command {
  return {
    check,
    run: async (m, r) => {
      await run(m, r)
      await settleAndCompare(m, r)
    },
    toString: () => name,
  }
}

const running = (m: Readonly<Model>) => !m.gaveUp && alive(m).length > 0

const crash = (k: number) =>
  command(`crash(${k})`, running, async (m, r) => {
    const child = pick(alive(m), k)
    ;(await runningRef(r, child.id)).tell('crash')
    childExited(m, child, true)
  })

/** Two crash messages queued for one child: the second reaches the restarted instance. */
const crashTwice = (k: number) =>
  command(`crashTwice(${k})`, running, async (m, r) => {
    const child = pick(alive(m), k)
    const ref = await runningRef(r, child.id)
    ref.tell('crash')
    ref.tell('crash')
    childExited(m, child, true)
    // A temporary child is gone after the first: the second message is a dead letter.
    if (child.restart !== 'temporary') childExited(m, child, true)
  })

/** Two children crash in the same turn: their failures reach the supervisor back to back. */
const crashTwo = (k1: number, k2: number) =>
  command(
    `crashTwo(${k1}, ${k2})`,
    (m) => !m.gaveUp && alive(m).length > 1,
    async (m, r) => {
      const first = pick(alive(m), k1)
      const second = pick(
        alive(m).filter((c) => c !== first),
        k2,
      )
      const refs = [await runningRef(r, first.id), await runningRef(r, second.id)]
      for (const ref of refs) ref.tell('crash')
      childExited(m, first, true)
      childExited(m, second, true)
    },
  )

/** The child stops itself: a normal exit. */
const stopNormally = (k: number) =>
  command(`stopNormally(${k})`, running, async (m, r) => {
    const child = pick(alive(m), k)
    ;(await runningRef(r, child.id)).tell('quit')
    childExited(m, child, false)
  })

const advance = (ms: number) =>
  command(
    `advance(${ms})`,
    (m) => !m.gaveUp,
    async (m, r) => {
      r.clock.advance(ms)
      m.now += ms
    },
  )

const startChild = (restart: RestartType) =>
  command(
    `startChild(${restart})`,
    (m) => !m.gaveUp,
    async (m, r) => {
      const id = `n${m.nextId++}`
      await started(r.sup.ask('startChild', childSpec({ id, actor: Probe, args: [id, r.log], restart })))
      m.children.push({ id, restart, alive: true, restarts: 0 })
    },
  )

const terminateChild = (k: number) =>
  command(`terminateChild(${k})`, running, async (m, r) => {
    const child = pick(alive(m), k)
    await r.sup.ask('terminateChild', child.id)
    if (child.restart === 'temporary') m.children = m.children.filter((c) => c !== child)
    else child.alive = false
  })

const hasTerminated = (m: Readonly<Model>) => !m.gaveUp && terminated(m).length > 0

const restartChild = (k: number) =>
  command(`restartChild(${k})`, hasTerminated, async (m, r) => {
    const child = pick(terminated(m), k)
    await started(r.sup.ask('restartChild', child.id))
    child.alive = true // a manual restart is not a supervision restart: no count, no budget
  })

const deleteChild = (k: number) =>
  command(`deleteChild(${k})`, hasTerminated, async (m, r) => {
    const child = pick(terminated(m), k)
    await r.sup.ask('deleteChild', child.id)
    m.children = m.children.filter((c) => c !== child)
  })

const index = fc.nat({ max: 7 })
const commands = fc.commands(
  [
    index.map(crash),
    index.map(crash),
    fc.tuple(index, index).map(([a, b]) => crashTwo(a, b)),
    index.map(crashTwice),
    index.map(stopNormally),
    fc.integer({ min: 1, max: 1500 }).map(advance),
    // The window's edges: a restart exactly PERIOD_MS old has left it, one a ms younger has not.
    fc.constantFrom(PERIOD_MS, PERIOD_MS - 1, 1).map(advance),
    fc.constantFrom<RestartType>('permanent', 'transient', 'temporary').map(startChild),
    index.map(terminateChild),
    index.map(restartChild),
    index.map(deleteChild),
  ],
  { maxCommands: 30 },
)

const INITIAL: readonly [string, RestartType][] = [
  ['c0', 'permanent'],
  ['c1', 'transient'],
  ['c2', 'temporary'],
  ['c3', 'transient'],
]

let runs = 0

describe('supervisor model', () => {
  it('a one_for_one tree of mixed restart types matches the model after every command', async () => {
    await fc.assert(
      fc.asyncProperty(commands, async (cmds) => {
        const clock = new VirtualClock()
        const system = ActorSystem.create({ name: `model-${runs++}`, clock })
        const events: SupervisorEvent[] = []
        const log: string[] = []
        system.subscribe(SupervisorEventTopic, (e) => events.push(e))
        const sup = system.spawn(Supervisor, {
          name: 'sup',
          args: [{ strategy: 'one_for_one', intensity: INTENSITY, periodMs: PERIOD_MS, children: INITIAL.map(([id, restart]) => childSpec({ id, actor: Probe, args: [id, log], restart })) }],
        })
        const model: Model = {
          now: 0,
          children: INITIAL.map(([id, restart]) => ({ id, restart, alive: true, restarts: 0 })),
          restartTimes: [],
          gaveUp: false,
          decisions: 0,
          nextId: 0,
        }
        const real: Real = { system, clock, sup, events, log }
        try {
          await settleAndCompare(model, real)
          await fc.asyncModelRun(() => ({ model, real }), cmds)
        } finally {
          await system.terminate()
        }
      }),
      { numRuns: 50 },
    )
  }, 60_000)
})
