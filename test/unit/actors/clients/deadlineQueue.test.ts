/**
 * The queue of calls in flight shared by RedisClient's command timeout and the cache's L2 watchdog,
 * against a model (every call in arrival order), and CommandDeadlines over it on a virtual clock.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CommandDeadlines } from '../../../../actors/clients/CommandDeadlines.ts'
import { DeadlineQueue } from '../../../../actors/clients/DeadlineQueue.ts'
import { VirtualClock } from '../../../../testing/index.ts'

interface Call {
  readonly id: number
  readonly deadline: number
  done: boolean
}

const settleMicrotasks = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

describe('DeadlineQueue', () => {
  it('model: the oldest live call, the expired ones in order and the live count match every call in arrival order; memory stays bounded', () => {
    const op = fc.oneof(fc.constant({ kind: 'push' as const }), fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }), fc.record({ kind: fc.constant('expire' as const), at: fc.nat(2_000) }))
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const queue = new DeadlineQueue<Call>()
        const model: Call[] = []
        let now = 0
        let id = 0
        for (const o of ops) {
          if (o.kind === 'push') {
            now += 1
            const call = { id: id++, deadline: now + 100, done: false }
            queue.push(call)
            model.push(call)
          } else if (o.kind === 'settle') {
            const live = model.filter((c) => !c.done)
            if (live.length === 0) continue
            const call = live[o.pick % live.length] as Call
            call.done = true
            queue.settled(call)
          } else {
            const at = Math.min(now + 100, o.at)
            for (let call = queue.expired(at); call !== null; call = queue.expired(at)) {
              expect(call).toBe(model.find((c) => !c.done))
              call.done = true
              queue.settled(call)
            }
            expect(model.some((c) => !c.done && c.deadline <= at)).toBe(false)
          }
          const live = model.filter((c) => !c.done)
          expect(queue.size).toBe(live.length)
          expect(queue.oldest()).toBe(live[0])
          // Settled calls kept behind an older live one stay within the compaction bound.
          const held = (queue as unknown as { items: unknown[]; head: number }).items.length - (queue as unknown as { head: number }).head
          expect(held).toBeLessThanOrEqual(2 * live.length + 65)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('CommandDeadlines', () => {
  it('answers replies in any order; an unanswered command fails at its own deadline, mapped; a late reply is dropped', async () => {
    const clock = new VirtualClock(0)
    const mapped: string[] = []
    const deadlines = new CommandDeadlines(clock, 100, (error, command) => {
      mapped.push(`${command}: ${(error as Error).message}`)
      return Object.assign(new Error(`${command} failed`), { code: 'ERR_TEST' })
    })
    const replies: { resolve(v: unknown): void; reject(e: Error): void }[] = []
    const out = (command: string) => deadlines.bound(new Promise((resolve, reject) => replies.push({ resolve, reject })), command)
    const outcomes: unknown[] = []
    const record = (i: number) => (p: Promise<unknown>) => p.then((v) => (outcomes[i] = v), (e: { code?: string }) => (outcomes[i] = e.code))
    record(0)(out('GET a'))
    clock.advance(30)
    record(1)(out('GET b'))
    clock.advance(30)
    record(2)(out('GET c'))
    replies[1]!.resolve('b')
    await settleMicrotasks()
    expect(outcomes).toEqual([undefined, 'b'])
    expect(deadlines.size).toBe(2)
    clock.advance(40) // t=100: the first command's deadline
    await settleMicrotasks()
    expect(outcomes[0]).toBe('ERR_TEST')
    expect(outcomes[2]).toBeUndefined()
    replies[0]!.resolve('late a') // dropped: it already failed
    replies[2]!.reject(new Error('connection reset'))
    await settleMicrotasks()
    expect(outcomes).toEqual(['ERR_TEST', 'b', 'ERR_TEST'])
    expect(mapped).toEqual(['GET a: Command timed out', 'GET c: connection reset'])
    expect(deadlines.size).toBe(0)
    deadlines.close()
  })
})
