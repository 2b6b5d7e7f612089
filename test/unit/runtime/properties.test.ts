import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Actor, AskTimeoutError, type ActorSystem, EnvelopeKind, MailboxFullError, type ActorRef, type DeadLetter, type OverflowPolicy } from '../../../runtime/index.ts'
import { ManualClock, pendingAfterAskDeadlines } from './support/ManualClock.ts'
import { tick, useSystems } from './support/helpers.ts'

/**
 * Properties of the core runtime. fc.scheduler() decides when each awaited step of senders and
 * handlers resumes, so every run explores another interleaving; fast-check prints the seed and the
 * counterexample on failure. numRuns stays modest so the file takes a few seconds.
 */
const RUNS = { numRuns: 100 }

const newSystem = useSystems()

/**
 * Releases scheduled tasks (or lets the dispatcher run when none is pending) until `done` holds.
 * The deadline only turns a hang into a readable failure.
 */
async function drive(s: fc.Scheduler, done: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`property run stuck waiting for ${what}`)
    if (s.count() > 0) await s.waitNext(1)
    else await tick()
  }
}

/** Terminates the system while still releasing scheduled steps (a stop waits for a pending handler). */
async function terminate(s: fc.Scheduler, system: ActorSystem): Promise<void> {
  let finished = false
  void system.terminate().then(() => (finished = true))
  await drive(s, () => finished, 'termination')
}

/** A yield point the fast-check scheduler releases whenever it likes. */
function yieldTo(s: fc.Scheduler): Promise<void> {
  return s.schedule(Promise.resolve())
}

// ------------------------------------------------------------------------------------------------
// (1) per-sender FIFO

interface SinkProtocol {
  put(sender: string, seq: number): void
}
class Sink extends Actor<SinkProtocol> implements SinkProtocol {
  private readonly received: [string, number][]
  constructor(received: [string, number][]) {
    super()
    this.received = received
  }
  put(sender: string, seq: number): void {
    this.received.push([sender, seq])
  }
}

interface RelayProtocol {
  send(seq: number): Promise<void>
}
/** An actor sender: each send awaits a scheduler-controlled step, then tells the sink. */
class Relay extends Actor<RelayProtocol> implements RelayProtocol {
  private readonly id: string
  private readonly sink: ActorRef<SinkProtocol>
  private readonly s: fc.Scheduler
  constructor(id: string, sink: ActorRef<SinkProtocol>, s: fc.Scheduler) {
    super()
    this.id = id
    this.sink = sink
    this.s = s
  }
  async send(seq: number): Promise<void> {
    await yieldTo(this.s)
    this.sink.tell('put', this.id, seq)
  }
}

// ------------------------------------------------------------------------------------------------
// (2) asks settle exactly once

type AskKind = 'ok' | 'boom' | 'later' | 'laterBoom'
interface ResponderProtocol {
  ok(i: number): number
  boom(i: number): number
  later(i: number): Promise<number>
  laterBoom(i: number): Promise<number>
}
class Responder extends Actor<ResponderProtocol> implements ResponderProtocol {
  private readonly s: fc.Scheduler
  private readonly done: { count: number }
  constructor(s: fc.Scheduler, done: { count: number }) {
    super()
    this.s = s
    this.done = done
  }
  ok(i: number): number {
    this.done.count++
    return i
  }
  boom(i: number): number {
    this.done.count++
    throw new Error(`boom ${i}`)
  }
  async later(i: number): Promise<number> {
    await yieldTo(this.s)
    this.done.count++
    return i
  }
  async laterBoom(i: number): Promise<number> {
    await yieldTo(this.s)
    this.done.count++
    throw new Error(`boom ${i}`)
  }
}

// ------------------------------------------------------------------------------------------------
// (3) bounded mailboxes, (4) tells/stops/restarts

interface WorkProtocol {
  work(id: number): void | Promise<void>
  crash(id: number): void
}
class SlowWorker extends Actor<WorkProtocol> implements WorkProtocol {
  private readonly s: fc.Scheduler
  private readonly handled: number[]
  private readonly async: boolean
  constructor(s: fc.Scheduler, handled: number[], async: boolean) {
    super()
    this.s = s
    this.handled = handled
    this.async = async
  }
  work(id: number): void | Promise<void> {
    this.handled.push(id)
    if (this.async) return yieldTo(this.s)
  }
  crash(id: number): void {
    throw new Error(`crash ${id}`)
  }
}

function idOf(letter: DeadLetter): number | null {
  const kind = letter.envelope.kind
  if (kind !== EnvelopeKind.Tell && kind !== EnvelopeKind.Ask) return null
  return letter.envelope.args[0] as number
}

/** Asserts `actual` is exactly the ids 0..count-1, each once. */
function expectEachOnce(actual: number[], count: number): void {
  const sorted = [...actual].sort((a, b) => a - b)
  expect(sorted).toEqual(Array.from({ length: count }, (_, i) => i))
}

describe('runtime properties', () => {
  it('(1) per-sender FIFO holds under any interleaving of actor and plain-code senders', async () => {
    const senderArb = fc.record({
      isActor: fc.boolean(),
      messages: fc.array(fc.constantFrom('tell', 'ask', 'offer'), { minLength: 1, maxLength: 12 }),
    })
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(senderArb, { minLength: 1, maxLength: 5 }), async (s, senders) => {
        const system = newSystem()
        const received: [string, number][] = []
        const sink = system.spawn(Sink, { args: [received] })
        const total = senders.reduce((n, sender) => n + sender.messages.length, 0)
        const runs = senders.map(async (sender, index) => {
          const id = `s${index}`
          const relay = sender.isActor ? system.spawn(Relay, { args: [id, sink, s] }) : null
          for (let seq = 0; seq < sender.messages.length; seq++) {
            await yieldTo(s)
            if (relay !== null) relay.tell('send', seq)
            else if (sender.messages[seq] === 'tell') sink.tell('put', id, seq)
            else if (sender.messages[seq] === 'ask') void sink.ask('put', id, seq)
            else void sink.offer('put', id, seq)
          }
        })
        await drive(s, () => received.length === total, 'every message')
        await Promise.all(runs)
        senders.forEach((sender, index) => {
          const seqs = received.filter(([id]) => id === `s${index}`).map(([, seq]) => seq)
          expect(seqs).toEqual(Array.from({ length: sender.messages.length }, (_, i) => i))
        })
        await terminate(s, system)
      }),
      RUNS,
    )
  })

  it('(2) every ask settles exactly once: reply, error or timeout (with one late reply per timeout)', async () => {
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('ask' as const), kind: fc.constantFrom<AskKind>('ok', 'boom', 'later', 'laterBoom'), timeoutMs: fc.integer({ min: 1, max: 100 }) }),
      fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ op: fc.constant('step' as const) }),
    )
    const seen = { timeouts: 0, replies: 0, errors: 0 }
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(opArb, { minLength: 1, maxLength: 30 }), async (s, ops) => {
        const clock = new ManualClock()
        const system = newSystem({ clock })
        const letters: DeadLetter[] = []
        system.deadLetters.subscribe((letter) => letters.push(letter))
        const done = { count: 0 }
        const responder = system.spawn(Responder, { args: [s, done] })
        interface Outcome {
          kind: AskKind
          i: number
          sentAt: number
          timeoutMs: number
          settlements: number
          value?: unknown
          error?: unknown
          settledAt?: number
        }
        const asks: Outcome[] = []
        for (const op of ops) {
          if (op.op === 'step') {
            if (s.count() > 0) await s.waitNext(1)
            else await tick()
          } else if (op.op === 'advance') {
            clock.advance(op.ms)
          } else {
            const outcome: Outcome = { kind: op.kind, i: asks.length, sentAt: clock.now(), timeoutMs: op.timeoutMs, settlements: 0 }
            asks.push(outcome)
            responder.askWith({ timeoutMs: op.timeoutMs }, op.kind, outcome.i).then(
              (value) => {
                outcome.settlements++
                outcome.value = value
                outcome.settledAt = clock.now()
              },
              (error: unknown) => {
                outcome.settlements++
                outcome.error = error
                outcome.settledAt = clock.now()
              },
            )
          }
        }
        // Let everything run out: release handlers, then fire every remaining timeout.
        await drive(s, () => done.count === asks.length, 'every handler to finish')
        clock.advance(1000)
        await drive(s, () => asks.every((a) => a.settlements > 0), 'every ask to settle')
        await tick()

        let timeouts = 0
        for (const a of asks) {
          expect(a.settlements).toBe(1)
          if (a.error instanceof AskTimeoutError) {
            timeouts++
            expect(a.settledAt as number).toBeGreaterThanOrEqual(a.sentAt + a.timeoutMs)
          } else if (a.kind === 'ok' || a.kind === 'later') {
            seen.replies++
            expect(a.value).toBe(a.i)
          } else {
            seen.errors++
            expect((a.error as Error).message).toBe(`boom ${a.i}`)
          }
        }
        seen.timeouts += timeouts
        const failing = asks.filter((a) => a.kind === 'boom' || a.kind === 'laterBoom').length
        expect(letters.filter((l) => l.reason === 'late-reply')).toHaveLength(timeouts)
        expect(letters.filter((l) => l.reason === 'failed')).toHaveLength(failing)
        expect(pendingAfterAskDeadlines(clock, system)).toBe(0)
        await terminate(s, system)
      }),
      RUNS,
    )
    // Not vacuous: the generated runs exercised every outcome.
    expect(seen.timeouts).toBeGreaterThan(0)
    expect(seen.replies).toBeGreaterThan(0)
    expect(seen.errors).toBeGreaterThan(0)
  })

  it('(3) a bounded mailbox never exceeds its capacity and every refused message is reported', async () => {
    const opArb = fc.constantFrom('tell', 'ask', 'offer', 'step', 'step')
    const seen = { refused: 0, dropped: 0, handled: 0 }
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<OverflowPolicy>('reject', 'drop-newest', 'drop-oldest'),
        fc.boolean(),
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        async (s, capacity, overflow, prioritised, ops) => {
          let maxDepth = 0
          const system = newSystem({
            mailboxHooks: {
              posted: (_actor, depth) => (maxDepth = Math.max(maxDepth, depth)),
              received: (actor, depth) => (maxDepth = Math.max(maxDepth, depth, actor.mailboxSize)),
            },
          })
          const letters: DeadLetter[] = []
          system.deadLetters.subscribe((letter) => letters.push(letter))
          const handled: number[] = []
          const priority = prioritised ? { levels: 2, of: (_m: string, args: readonly unknown[]) => (args[0] as number) % 2 } : undefined
          const worker = system.spawn(SlowWorker, {
            args: [s, handled, true],
            mailbox: priority === undefined ? { capacity, overflow } : { capacity, overflow, priority },
          })
          const refused: number[] = []
          const offers: Promise<void>[] = []
          let sent = 0
          for (const op of ops) {
            if (op === 'step') {
              if (s.count() > 0) await s.waitNext(1)
              else await tick()
              continue
            }
            const id = sent++
            if (op === 'tell') {
              try {
                worker.tell('work', id)
              } catch (error) {
                expect(error).toBeInstanceOf(MailboxFullError)
                refused.push(id)
              }
            } else if (op === 'ask') {
              worker.ask('work', id).catch((error: unknown) => {
                expect(error).toBeInstanceOf(MailboxFullError)
                // Dropped asks are also dead letters: count each refusal once.
                if (overflow === 'reject') refused.push(id)
              })
            } else {
              offers.push(worker.offer('work', id))
            }
          }
          const dropped = (): number[] => letters.filter((l) => l.reason === 'overflow').map((l) => idOf(l) as number)
          await drive(s, () => handled.length + refused.length + dropped().length === sent, 'every message handled or refused')
          await Promise.all(offers)
          expect(maxDepth).toBeLessThanOrEqual(capacity)
          expectEachOnce([...handled, ...refused, ...dropped()], sent)
          if (overflow === 'reject') expect(dropped()).toEqual([])
          seen.refused += refused.length
          seen.dropped += dropped().length
          seen.handled += handled.length
          await terminate(s, system)
        },
      ),
      RUNS,
    )
    expect(seen.refused).toBeGreaterThan(0)
    expect(seen.dropped).toBeGreaterThan(0)
    expect(seen.handled).toBeGreaterThan(0)
  })

  it('(4) under random tells, stops and restarts, no message is lost or duplicated except as dead letters', async () => {
    const opArb = fc.oneof(
      { weight: 6, arbitrary: fc.record({ op: fc.constant('work' as const), actor: fc.nat(2) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('crash' as const), actor: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('stop' as const), actor: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('poison' as const), actor: fc.nat(2) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant('step' as const) }) },
    )
    const seen = { handled: 0, stopped: 0, failed: 0 }
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), fc.array(opArb, { minLength: 1, maxLength: 50 }), async (s, asyncFlags, ops) => {
        const system = newSystem()
        const letters: DeadLetter[] = []
        system.deadLetters.subscribe((letter) => letters.push(letter))
        const handled: number[] = []
        const workers = asyncFlags.map((isAsync) => system.spawn(SlowWorker, { args: [s, handled, isAsync] }))
        let sent = 0
        for (const op of ops) {
          if (op.op === 'step') {
            if (s.count() > 0) await s.waitNext(1)
            else await tick()
            continue
          }
          const worker = workers[op.actor] as ActorRef<WorkProtocol>
          if (op.op === 'work') worker.tell('work', sent++)
          else if (op.op === 'crash') worker.tell('crash', sent++)
          else if (op.op === 'stop') void system.stop(worker)
          else system.poison(worker)
        }
        // Stop whatever still runs; its queued messages become dead letters.
        await terminate(s, system)
        const deadIds = letters.map(idOf).filter((id): id is number => id !== null)
        expectEachOnce([...handled, ...deadIds], sent)
        const crashes = ops.filter((op) => op.op === 'crash').length
        expect(letters.filter((l) => l.reason === 'failed').length).toBeLessThanOrEqual(crashes)
        seen.handled += handled.length
        seen.stopped += letters.filter((l) => l.reason === 'stopped' && idOf(l) !== null).length
        seen.failed += letters.filter((l) => l.reason === 'failed').length
      }),
      RUNS,
    )
    expect(seen.handled).toBeGreaterThan(0)
    expect(seen.stopped).toBeGreaterThan(0)
    expect(seen.failed).toBeGreaterThan(0)
  })
})
