/**
 * The CircuitBreaker actor and its fast-path client on a deterministic simulation (virtual time):
 * closed-state calls never ask the actor, outcomes arrive in batches, open rejections are local and
 * carry retryAfterMs, probes go through the actor, Pekko's call timeout fails the call at the
 * deadline, error classification, operator calls, transition events and typed errors.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { decodeError, encodeError, errorCode } from '../../../../runtime/index.ts'
import { ActorTestKit } from '../../../../testing/index.ts'
import {
  BreakerCallTimeoutError,
  BreakerClient,
  BreakerTransitionTopic,
  CallNotPermittedError,
  InvalidBreakerConfigError,
  spawnBreaker,
  withBreaker,
  type Breaker,
  type BreakerOptions,
  type BreakerTransition,
} from '../../../../actors/index.ts'

let kit: ActorTestKit | null = null

afterEach(async () => {
  await kit?.shutdown()
  kit = null
})

async function start(options: Partial<BreakerOptions> = {}): Promise<{ kit: ActorTestKit; breaker: Breaker; events: BreakerTransition[] }> {
  kit = ActorTestKit.create({ seed: 1 })
  const events: BreakerTransition[] = []
  kit.system.subscribe(BreakerTransitionTopic, (t) => events.push(t))
  const breaker = await kit.sim.settle(spawnBreaker(kit.system, { name: 'db', ...options }))
  return { kit, breaker, events }
}

/** Runs a call to its end on the simulation and returns what it settled with. */
async function outcome<T>(k: ActorTestKit, call: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await k.sim.settle(call) }
  } catch (error) {
    return { ok: false, error }
  }
}

const boom = (): Promise<never> => Promise.reject(new Error('boom'))

describe('fast path', () => {
  it('closed-state calls take no ask; outcomes reach the actor in batches (by count, the rest after reportDelayMs)', async () => {
    const { kit, breaker } = await start({ windowSize: 2000, minimumCalls: 2000, reportBatch: 256, reportDelayMs: 5 })
    const calls: Promise<number>[] = []
    for (let i = 0; i < 1000; i++) calls.push(breaker.client.execute(() => i))
    await kit.sim.settle(Promise.all(calls))
    await kit.advance(4)
    expect(breaker.client.stats).toMatchObject({ fastPermits: 1000, slowPermits: 0, localRejections: 0, reports: 3 })
    await kit.advance(1)
    expect(breaker.client.stats).toMatchObject({ fastPermits: 1000, slowPermits: 0, localRejections: 0, reports: 4 })
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ state: 'closed', calls: 1000, failedCalls: 0 })
  })

  it('a failure is reported at once with the successes gathered before it; successes alone wait for the delay', async () => {
    const { kit, breaker } = await start({ windowSize: 100, minimumCalls: 100, reportBatch: 256, reportDelayMs: 50 })
    await kit.sim.settle(Promise.all([1, 2, 3].map((i) => breaker.client.execute(() => i))))
    await kit.advance(0)
    expect(breaker.client.stats.reports).toBe(0)
    await outcome(kit, breaker.client.execute(boom))
    expect(breaker.client.stats.reports).toBe(1)
    await kit.advance(0)
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ calls: 4, failedCalls: 1 })
    await kit.sim.settle(breaker.client.execute(() => 5))
    await kit.advance(49)
    expect(breaker.client.stats.reports).toBe(1)
    await kit.advance(1)
    expect(breaker.client.stats.reports).toBe(2)
  })

  it('opens after the failures that cross the threshold, then rejects locally with retryAfterMs', async () => {
    const { kit, breaker, events } = await start({ windowSize: 10, minimumCalls: 10, failureRateThreshold: 50, waitInOpenMs: 5000, reportBatch: 4 })
    for (let i = 0; i < 10; i++) await outcome(kit, breaker.client.execute(boom))
    await kit.advance(0)
    expect(breaker.client.state).toBe('open')
    expect(events.map((e) => [e.from, e.to, e.reason])).toEqual([['closed', 'open', 'failure_rate']])
    await kit.advance(1000)
    const rejected = await outcome(kit, breaker.client.execute(() => 'never runs'))
    expect(rejected.ok).toBe(false)
    const error = (rejected as { error: unknown }).error
    expect(error).toBeInstanceOf(CallNotPermittedError)
    expect(error).toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED', breaker: 'db', state: 'open', retryAfterMs: 4000 })
    expect(breaker.client.stats.slowPermits).toBe(0)
    expect(breaker.client.stats.localRejections).toBe(1)
  })

  it('after the open interval a probe goes through the actor; its success closes and the fast path resumes', async () => {
    const { kit, breaker, events } = await start({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 1000, permittedCallsInHalfOpen: 1 })
    await outcome(kit, breaker.client.execute(boom))
    await outcome(kit, breaker.client.execute(boom))
    await kit.advance(0)
    expect(breaker.client.state).toBe('open')
    await kit.advance(1000) // the actor's timer moves it to half-open and tells the client
    expect(breaker.client.state).toBe('half_open')
    const probe = await outcome(kit, breaker.client.execute(() => Promise.resolve('pong')))
    expect(probe).toEqual({ ok: true, value: 'pong' })
    await kit.advance(0)
    expect(breaker.client.state).toBe('closed')
    expect(breaker.client.stats.slowPermits).toBe(1)
    expect(events.map((e) => e.to)).toEqual(['open', 'half_open', 'closed'])
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ state: 'closed', halfOpenInFlight: 0 })
  })

  it('half-open permits beyond the configured number are refused by the actor', async () => {
    const { kit, breaker } = await start({ windowSize: 1, minimumCalls: 1, waitInOpenMs: 100, permittedCallsInHalfOpen: 2, maxWaitInHalfOpenMs: 10_000, slowCallDurationMs: 700 })
    await outcome(kit, breaker.client.execute(boom))
    await kit.advance(100)
    const gates: (() => void)[] = []
    const slow = (): Promise<string> => new Promise<string>((resolve) => gates.push(() => resolve('ok')))
    const a = breaker.client.execute(slow)
    const b = breaker.client.execute(slow)
    const c = breaker.client.execute(slow)
    const third = await outcome(kit, c)
    expect(third.ok).toBe(false)
    expect((third as { error: unknown }).error).toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED', state: 'half_open', retryAfterMs: 700 })
    expect(gates).toHaveLength(2)
    for (const open of gates) open()
    await kit.sim.settle(Promise.all([a, b]))
    await kit.advance(0)
    expect(breaker.client.state).toBe('closed')
  })
})

describe('fast path details', () => {
  it('hands the caller the function\'s own promise', async () => {
    const { kit, breaker } = await start()
    const own = Promise.resolve(42)
    expect(breaker.client.execute(() => own)).toBe(own)
    await kit.advance(0)
  })

  it('counts slow calls from its duration ticks and opens on the slow-call rate', async () => {
    const { kit, breaker, events } = await start({ windowSize: 4, minimumCalls: 4, slowCallRateThreshold: 50, slowCallDurationMs: 100 })
    const after = (ms: number) => () => new Promise<string>((resolve) => kit.system.clock.setTimer(ms, () => resolve('done')))
    await kit.sim.settle(breaker.client.execute(after(20)))
    await kit.sim.settle(breaker.client.execute(after(90)))
    await kit.sim.settle(breaker.client.execute(after(150)))
    await kit.advance(0)
    expect(breaker.client.state).toBe('closed')
    await kit.sim.settle(breaker.client.execute(after(400)))
    await kit.advance(0)
    expect(breaker.client.state).toBe('open')
    expect(events.at(-1)).toMatchObject({ to: 'open', reason: 'slow_call_rate' })
  })
})

describe('call timeout (Pekko callTimeout)', () => {
  it('fails the call at the deadline, aborts its signal, and counts the failure then', async () => {
    const { kit, breaker } = await start({ windowSize: 1, minimumCalls: 1, callTimeoutMs: 200, waitInOpenMs: 10_000 })
    let signal: AbortSignal | undefined
    let finishLate: (() => void) | null = null
    const call = breaker.client.execute((s) => {
      signal = s
      return new Promise<string>((resolve) => (finishLate = () => resolve('late')))
    })
    let settled: unknown = null
    call.then(
      () => (settled = 'resolved'),
      (error: unknown) => (settled = error),
    )
    await kit.advance(199)
    expect(settled).toBe(null)
    expect(breaker.client.state).toBe('closed')
    await kit.advance(1)
    await kit.advance(0)
    expect(settled).toBeInstanceOf(BreakerCallTimeoutError)
    expect(errorCode(settled)).toBe('ERR_BREAKER_CALL_TIMEOUT')
    expect(signal?.aborted).toBe(true)
    // Counted at the deadline, although the call itself has not finished.
    expect(breaker.client.state).toBe('open')
    finishLate!()
    await kit.advance(0)
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ state: 'open' })
  })
})

describe('classification', () => {
  it('ignored errors count for nothing, unrecorded errors count as successes, a result predicate can fail a success', async () => {
    class Invalid extends Error {}
    class Busy extends Error {}
    const { kit, breaker } = await start({
      windowSize: 100,
      minimumCalls: 100,
      ignoreError: (e) => e instanceof Invalid,
      recordError: (e) => !(e instanceof Busy),
      recordResult: (r) => r === 503,
    })
    await outcome(kit, breaker.client.execute(() => Promise.reject(new Invalid())))
    await outcome(kit, breaker.client.execute(() => Promise.reject(new Busy())))
    expect(await outcome(kit, breaker.client.execute(() => 503))).toEqual({ ok: true, value: 503 })
    await outcome(kit, breaker.client.execute(() => 200))
    await outcome(kit, breaker.client.execute(() => {
      throw new Error('sync throw')
    }))
    await kit.advance(0)
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ calls: 4, failedCalls: 2 })
  })
})

describe('operator calls and helpers', () => {
  it('forceOpen rejects every call with retryAfterMs Infinity; reset closes', async () => {
    const { kit, breaker, events } = await start()
    expect(await kit.ask(breaker.ref, 'forceOpen')).toBe('forced_open')
    expect(await kit.ask(breaker.ref, 'forceOpen')).toBe('forced_open')
    const rejected = await outcome(kit, breaker.client.execute(() => 1))
    expect((rejected as { error: unknown }).error).toMatchObject({ state: 'forced_open', retryAfterMs: Number.POSITIVE_INFINITY })
    expect(await kit.ask(breaker.ref, 'reset')).toBe('closed')
    expect(await outcome(kit, breaker.client.execute(() => 1))).toEqual({ ok: true, value: 1 })
    expect(events.map((e) => e.to)).toEqual(['forced_open', 'closed'])
  })

  it('withBreaker wraps a function; disabled lets everything through', async () => {
    const { kit, breaker } = await start({ windowSize: 1, minimumCalls: 1 })
    await kit.ask(breaker.ref, 'disable')
    const guarded = withBreaker(breaker.client, (a: number, b: number) => (a > 0 ? a + b : Promise.reject(new Error('neg'))))
    expect(await kit.sim.settle(guarded(2, 3))).toBe(5)
    await outcome(kit, guarded(-1, 0))
    expect(await kit.sim.settle(guarded(1, 1))).toBe(2)
    expect(breaker.client.state).toBe('disabled')
  })

  it('a stopped breaker refuses calls with ERR_BREAKER_STOPPED', async () => {
    const { kit, breaker } = await start()
    await kit.sim.settle(kit.system.stop(breaker.ref))
    const refused = await outcome(kit, breaker.client.execute(() => 1))
    expect(errorCode((refused as { error: unknown }).error)).toBe('ERR_BREAKER_STOPPED')
  })

  it('bad options are refused before anything is spawned, every problem listed', async () => {
    kit = ActorTestKit.create({ seed: 2 })
    const attempt = await outcome(kit, spawnBreaker(kit.system, { name: 'bad name', failureRateThreshold: 0, windowSize: -1, singleProbe: true, permittedCallsInHalfOpen: 3 }))
    const error = (attempt as { error: unknown }).error
    expect(error).toBeInstanceOf(InvalidBreakerConfigError)
    expect((error as InvalidBreakerConfigError).data).toMatchObject({ problems: expect.arrayContaining([expect.stringContaining('name'), expect.stringContaining('failureRateThreshold'), expect.stringContaining('windowSize'), expect.stringContaining('singleProbe')]) })
    expect(kit.system.topLevel).toHaveLength(0)
  })

  it('a rejection keeps its fields across a hop (encoded, rebuilt from the code)', () => {
    const original = new CallNotPermittedError('open', { data: { breaker: 'db', state: 'open', retryAfterMs: 1234 } })
    const rebuilt = decodeError(encodeError(original))
    expect(rebuilt).toBeInstanceOf(CallNotPermittedError)
    expect(rebuilt).toMatchObject({ breaker: 'db', state: 'open', retryAfterMs: 1234, code: 'ERR_CALL_NOT_PERMITTED' })
  })

  it('malformed messages are refused with ERR_BREAKER_BAD_MESSAGE and the breaker carries on', async () => {
    const { kit, breaker } = await start({ windowSize: 1, minimumCalls: 1 })
    const bad = await outcome(kit, breaker.ref.ask('complete', 0, 0, 'exploded' as never, 1))
    expect(errorCode((bad as { error: unknown }).error)).toBe('ERR_BREAKER_BAD_MESSAGE')
    const badReport = await outcome(kit, breaker.ref.ask('report', { epoch: 0, outcomes: 'nope' } as never))
    expect(errorCode((badReport as { error: unknown }).error)).toBe('ERR_BREAKER_BAD_MESSAGE')
    const badPeer = await outcome(kit, breaker.ref.ask('peerChange', { breaker: 'db', to: 'sideways', openForMs: 1, operator: true, lamport: 1, origin: 'x' } as never))
    expect(errorCode((badPeer as { error: unknown }).error)).toBe('ERR_BREAKER_BAD_MESSAGE')
    expect(await kit.ask(breaker.ref, 'snapshot')).toMatchObject({ state: 'closed', calls: 0 })
  })

  it('a second client on the same system mirrors the same state', async () => {
    const { kit, breaker } = await start({ windowSize: 1, minimumCalls: 1 })
    const other = await kit.sim.settle(BreakerClient.connect(kit.system, breaker.ref))
    await outcome(kit, other.execute(boom))
    await kit.advance(0)
    expect(other.state).toBe('open')
    expect(breaker.client.state).toBe('open')
    other.close()
  })
})
