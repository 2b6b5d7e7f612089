import { describe, expect, it } from 'vitest'
import { DeadLetterTopic, type DeadLetter } from '../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../supervision/index.ts'
import { settle, waitFor } from '../../../testing/index.ts'
import { childOf, Probe, testSystem } from './helpers.ts'

function setup(intensity = 5) {
  const t = testSystem()
  const dead: DeadLetter[] = []
  t.system.subscribe(DeadLetterTopic, (d) => dead.push(d))
  let failStart = false
  const control = { failStart: () => failStart }
  const sup = t.system.spawn(Supervisor, { name: 'sup', args: [{ intensity, periodMs: 1000, children: [childSpec({ id: 'w', actor: Probe, args: ['w', t.log, control] })] }] })
  return { ...t, sup, dead, setFailStart: (v: boolean) => (failStart = v) }
}

describe('failures', () => {
  it('the crashing message is not redelivered: it goes to dead letters with reason failed and the error', async () => {
    const { sup, dead, waitForEvents } = setup()
    const w = await childOf(sup, 'w')
    w.tell('inc')
    w.tell('crash', 'once')
    w.tell('inc')
    await waitForEvents('child-restarted', 1)
    expect(await w.ask('count')).toBe(1) // the inc after the crash, handled by the new instance
    expect(dead).toHaveLength(1)
    expect(dead[0]).toMatchObject({ reason: 'failed', error: { message: 'once' } })
    expect(dead[0]?.envelope.method).toBe('crash')
    expect(dead[0]?.envelope.args).toEqual(['once'])
    await settle()
    expect(dead).toHaveLength(1) // and never handled again
  })

  it('an ask that crashes its handler rejects with the error (and is dead-lettered too)', async () => {
    const { sup, dead } = setup()
    const w = await childOf(sup, 'w')
    await expect(w.ask('crash', 'asked')).rejects.toThrow('asked')
    expect(dead.map((d) => d.reason)).toEqual(['failed'])
  })

  it('a rejected async handler is a failure like a throw', async () => {
    const { sup, dead, waitForEvents, ofType } = setup()
    const w = await childOf(sup, 'w')
    await w.ask('inc')
    w.tell('crashAsync')
    await waitForEvents('child-restarted', 1)
    expect(ofType('child-restarted')[0]?.reason).toMatchObject({ message: 'async boom w' })
    expect(await w.ask('count')).toBe(0)
    expect(dead[0]).toMatchObject({ reason: 'failed', envelope: { method: 'crashAsync' } })
  })

  it('a failure in a timer-driven handler is a failure, on the virtual clock', async () => {
    const { sup, clock, waitForEvents, ofType } = setup()
    const w = await childOf(sup, 'w')
    await w.ask('crashLater', 250)
    clock.advance(249)
    await settle()
    expect(ofType('child-restarted')).toEqual([])
    clock.advance(1)
    await waitForEvents('child-restarted', 1)
    expect(ofType('child-restarted')[0]?.reason).toMatchObject({ message: 'timer boom w' })
  })

  it('a throw in preStart during a restart is a start failure: published and counted', async () => {
    const { sup, setFailStart, waitForEvents, ofType } = setup(1)
    const w = await childOf(sup, 'w')
    setFailStart(true)
    w.tell('crash')
    // crash = restart 1; its preStart fails = restart 2 > intensity 1.
    await waitForEvents('gave-up', 1)
    expect(ofType('start-failed')).toHaveLength(1)
    expect(ofType('start-failed')[0]?.error.message).toMatch(/start of w failed/)
  })

  it('a child that crashes again on the next queued message is restarted again', async () => {
    const { sup, ofType } = setup()
    const w = await childOf(sup, 'w')
    w.tell('crash', 'first')
    w.tell('crash', 'second')
    w.tell('inc')
    await waitFor(() => ofType('child-restarted').length === 2, { timeoutMs: 1000 })
    expect(await w.ask('count')).toBe(1)
  })
})
