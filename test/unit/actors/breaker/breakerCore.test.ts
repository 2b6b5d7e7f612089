/**
 * The breaker's state machine on a virtual clock: resilience4j's CircuitBreakerStateMachine cases
 * (thresholds, minimum calls, half-open permits, slow calls, special states, reset), Polly v8's
 * half-open and throughput rules, Pekko's backoff of the open interval.
 */
import { describe, expect, it } from 'vitest'
import { REJECTED, UNTRACKED_PERMIT, type BreakerState } from '../../../../actors/index.ts'
import { coreHarness } from './helpers.ts'

const states = (events: { to: BreakerState }[]): BreakerState[] => events.map((e) => e.to)

describe('closed → open (resilience4j)', () => {
  it('opens when the failure rate reaches the threshold, once the window holds minimumCalls', () => {
    const h = coreHarness({ windowSize: 5, minimumCalls: 5, failureRateThreshold: 50, waitInOpenMs: 1000 })
    h.calls(2, 'success')
    h.calls(2, 'failure')
    expect(h.core.state).toBe('closed') // 4 calls < minimumCalls, though 50 % failed
    h.call('failure')
    expect(h.core.state).toBe('open') // 3 of 5 = 60 %
    expect(h.events).toEqual([{ breaker: 'svc', from: 'closed', to: 'open', reason: 'failure_rate', at: 0, epoch: 1, openForMs: 1000 }])
  })

  it('one success does not hide a 90 % failure rate (not consecutive-failure counting)', () => {
    const h = coreHarness({ windowSize: 10, minimumCalls: 10, failureRateThreshold: 50 })
    for (let i = 0; i < 9; i++) {
      h.call('failure')
      if (i === 4) h.call('success')
    }
    expect(h.core.state).toBe('open')
  })

  it('stays closed below the threshold, and the count window forgets the oldest call', () => {
    const h = coreHarness({ windowSize: 4, minimumCalls: 4, failureRateThreshold: 75 })
    h.calls(2, 'failure')
    h.calls(2, 'success') // 50 %
    expect(h.core.state).toBe('closed')
    h.call('success') // the first failure leaves: 1 of 4 = 25 %
    expect(h.core.snapshot().failedCalls).toBe(1)
    h.calls(2, 'failure') // window: S S F F → 50 %
    expect(h.core.state).toBe('closed')
    h.call('failure') // S F F F → 75 %
    expect(h.core.state).toBe('open')
  })

  it('minimumCalls above a count window size is capped at the size', () => {
    const h = coreHarness({ windowSize: 3, minimumCalls: 10 })
    expect(h.core.options.minimumCalls).toBe(3)
    h.calls(3, 'failure')
    expect(h.core.state).toBe('open')
  })

  it('opens on the slow-call rate; a call exactly at slowCallDurationMs is not slow', () => {
    const h = coreHarness({ windowSize: 4, minimumCalls: 4, slowCallRateThreshold: 50, slowCallDurationMs: 100 })
    h.calls(3, 'success', 100)
    h.call('success', 101)
    expect(h.core.state).toBe('closed') // 1 of 4 slow
    h.call('success', 250)
    expect(h.core.state).toBe('open')
    expect(h.events[0]?.reason).toBe('slow_call_rate')
    expect(h.core.counters).toMatchObject({ success: 3, slowSuccess: 2 })
  })

  it('ignored outcomes count for nothing', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2 })
    h.calls(10, 'ignored')
    expect(h.core.snapshot().calls).toBe(0)
    expect(h.core.state).toBe('closed')
    expect(h.core.counters.ignored).toBe(10)
  })

  it('a timeout counts as a failure', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, failureRateThreshold: 100 })
    h.call('timeout', 5000)
    h.call('failure')
    expect(h.core.state).toBe('open')
    expect(h.core.counters.timeout).toBe(1)
  })
})

describe('open and half-open (resilience4j)', () => {
  it('rejects while open with retryAfterMs counting down, then lets probes through', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 1000, permittedCallsInHalfOpen: 3 })
    h.calls(2, 'failure')
    h.clock.advance(400)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.rejection()).toEqual({ breaker: 'svc', state: 'open', retryAfterMs: 600 })
    h.clock.advance(599)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.rejection().retryAfterMs).toBe(1)
    h.clock.advance(1)
    const permit = h.core.acquire()
    expect(permit).toBeGreaterThan(0)
    expect(h.core.state).toBe('half_open')
    expect(h.core.counters.rejectedOpen).toBe(2)
  })

  it('admits exactly permittedCallsInHalfOpen probes and closes when they succeed', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10, permittedCallsInHalfOpen: 3 })
    h.calls(2, 'failure')
    h.clock.advance(10)
    h.core.tick()
    const epoch = h.core.epoch
    const permits = [h.core.acquire(), h.core.acquire(), h.core.acquire()]
    expect(permits.every((p) => p > 0)).toBe(true)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.rejection().state).toBe('half_open')
    expect(h.core.halfOpenInFlight).toBe(3)
    h.core.complete(epoch, permits[0]!, 'success', 1)
    h.core.complete(epoch, permits[1]!, 'success', 1)
    expect(h.core.state).toBe('half_open')
    expect(h.core.acquire()).toBe(REJECTED) // two recorded + one in flight = all three permits used
    h.core.complete(epoch, permits[2]!, 'success', 1)
    expect(h.core.state).toBe('closed')
    expect(h.core.halfOpenInFlight).toBe(0)
    expect(states(h.events)).toEqual(['open', 'half_open', 'closed'])
    expect(h.events[2]?.reason).toBe('probes_succeeded')
  })

  it('goes back to open when the probes fail at the threshold', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10, permittedCallsInHalfOpen: 4, failureRateThreshold: 50 })
    h.calls(2, 'failure')
    h.clock.advance(10)
    h.calls(2, 'success')
    h.calls(2, 'failure') // 2 of 4 = 50 %
    expect(h.core.state).toBe('open')
    expect(h.events.at(-1)?.reason).toBe('probes_failed')
  })

  it('an ignored error releases its half-open permit without recording it', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10, permittedCallsInHalfOpen: 2 })
    h.calls(2, 'failure')
    h.clock.advance(10)
    h.core.tick()
    const epoch = h.core.epoch
    const a = h.core.acquire()
    const b = h.core.acquire()
    expect(h.core.acquire()).toBe(REJECTED)
    h.core.complete(epoch, a, 'ignored', 1)
    expect(h.core.halfOpenInFlight).toBe(1)
    const c = h.core.acquire()
    expect(c).toBeGreaterThan(0)
    h.core.complete(epoch, b, 'success', 1)
    h.core.complete(epoch, c, 'success', 1)
    expect(h.core.state).toBe('closed')
  })

  it('completing a permit twice releases it once', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10, permittedCallsInHalfOpen: 2 })
    h.calls(2, 'failure')
    h.clock.advance(10)
    h.core.tick()
    const epoch = h.core.epoch
    const a = h.core.acquire()
    h.core.complete(epoch, a, 'success', 1)
    h.core.complete(epoch, a, 'success', 1)
    expect(h.core.state).toBe('half_open') // one probe recorded, not two
    expect(h.core.snapshot().calls).toBe(1)
  })

  it('maxWaitInHalfOpenMs sends a half-open breaker whose permits never come back to open', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 100, permittedCallsInHalfOpen: 1, maxWaitInHalfOpenMs: 500 })
    h.calls(2, 'failure')
    h.clock.advance(100)
    const lost = h.core.acquire()
    expect(lost).toBeGreaterThan(0)
    expect(h.core.nextDeadline()).toBe(600)
    h.clock.advance(499)
    h.core.tick()
    expect(h.core.state).toBe('half_open')
    h.clock.advance(1)
    h.core.tick()
    expect(h.core.state).toBe('open')
    expect(h.events.at(-1)?.reason).toBe('half_open_timeout')
    expect(h.core.halfOpenInFlight).toBe(0)
    // The lost permit, completed late, is not judged in the new epoch.
    h.core.complete(h.core.epoch - 1, lost, 'success', 1)
    expect(h.core.state).toBe('open')
  })

  it('half-open judges only the probes it granted: a permit-less report cannot close it', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10, permittedCallsInHalfOpen: 1 })
    h.calls(2, 'failure')
    h.clock.advance(10)
    h.core.tick()
    expect(h.core.state).toBe('half_open')
    h.core.complete(h.core.epoch, UNTRACKED_PERMIT, 'success', 1)
    h.core.completeBatch(h.core.epoch, 0, [0, 0, 0], [1, 1, 1], 3)
    expect(h.core.state).toBe('half_open')
    expect(h.core.counters.success).toBe(4)
  })

  it('outcomes from an earlier epoch are counted but never judged', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 10 })
    const old = h.core.epoch
    h.core.trip()
    h.clock.advance(10)
    h.core.tick()
    h.core.close()
    h.core.complete(old, UNTRACKED_PERMIT, 'failure', 1)
    h.core.complete(old, UNTRACKED_PERMIT, 'failure', 1)
    expect(h.core.state).toBe('closed')
    expect(h.core.counters.failure).toBe(2)
  })
})

describe('special states and operator calls (resilience4j)', () => {
  it('forced open rejects with retryAfterMs Infinity until reset', () => {
    const h = coreHarness()
    expect(h.core.forceOpen()).toBe(true)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.rejection()).toEqual({ breaker: 'svc', state: 'forced_open', retryAfterMs: Number.POSITIVE_INFINITY })
    h.clock.advance(10 * 60_000)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.reset()).toBe(true)
    expect(h.core.acquire()).toBe(UNTRACKED_PERMIT)
  })

  it('disabled permits everything and records nothing; metrics-only records and never opens', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2 })
    h.core.disable()
    expect(h.calls(5, 'failure')).toBe(5)
    expect(h.core.snapshot().calls).toBe(0)
    h.core.metricsOnly()
    expect(h.calls(5, 'failure')).toBe(5)
    expect(h.core.state).toBe('metrics_only')
    expect(h.core.snapshot()).toMatchObject({ calls: 2, failedCalls: 2, failureRate: 100 })
  })

  it('emits exactly one event per real transition; a call that changes nothing emits nothing', () => {
    const h = coreHarness({ windowSize: 1, minimumCalls: 1, waitInOpenMs: 10 })
    expect(h.core.close()).toBe(false)
    expect(h.core.forceOpen()).toBe(true)
    expect(h.core.forceOpen()).toBe(false)
    expect(h.core.disable()).toBe(true)
    expect(h.core.disable()).toBe(false)
    expect(h.core.reset()).toBe(true)
    expect(h.core.reset()).toBe(false)
    h.call('failure')
    h.call('failure') // rejected: no second open
    h.clock.advance(10)
    h.core.tick()
    h.core.tick()
    expect(states(h.events)).toEqual(['forced_open', 'disabled', 'closed', 'open', 'half_open'])
    expect(h.events.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5])
  })

  it('reset empties the window even when already closed', () => {
    const h = coreHarness({ windowSize: 4, minimumCalls: 4 })
    h.calls(3, 'failure')
    h.core.reset()
    h.calls(3, 'success')
    h.call('failure')
    expect(h.core.state).toBe('closed') // 1 of 4: the three failures before the reset are gone
  })
})

describe('time window and throughput (resilience4j TIME_BASED, Polly v8)', () => {
  it('judges only the calls of the last windowSize seconds', () => {
    const h = coreHarness({ windowType: 'time', windowSize: 10, minimumCalls: 4, failureRateThreshold: 50 })
    h.calls(3, 'failure')
    h.clock.advance(10_000) // those three slide out
    h.calls(3, 'success')
    h.call('failure')
    expect(h.core.state).toBe('closed') // 1 of 4
    h.clock.advance(3000)
    h.call('failure')
    expect(h.core.snapshot()).toMatchObject({ state: 'closed', calls: 5, failedCalls: 2 }) // 40 %
    h.call('failure')
    expect(h.core.state).toBe('open') // 3 of 6
  })

  it('does not break below the minimum throughput, however bad the ratio (Polly)', () => {
    const h = coreHarness({ windowType: 'time', windowSize: 30, minimumCalls: 10, failureRateThreshold: 50 })
    for (let i = 0; i < 9; i++) {
      h.call('failure')
      h.clock.advance(1000)
    }
    expect(h.core.state).toBe('closed')
    h.clock.advance(25_000) // the first failures slide out: throughput stays below 10
    h.calls(5, 'failure')
    expect(h.core.state).toBe('closed')
    h.calls(5, 'failure')
    expect(h.core.state).toBe('open')
  })
})

describe('single-probe half-open (Polly v8)', () => {
  it('lets one probe through; its success closes, its failure reopens', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 1000, singleProbe: true })
    h.calls(2, 'failure')
    h.clock.advance(1000)
    const epoch = h.core.epoch + 1
    const probe = h.core.acquire()
    expect(probe).toBeGreaterThan(0)
    expect(h.core.acquire()).toBe(REJECTED)
    h.core.complete(epoch, probe, 'failure', 5)
    expect(h.core.state).toBe('open')
    h.clock.advance(1000)
    expect(h.call('success')).toBe(true)
    expect(h.core.state).toBe('closed')
  })

  it('a probe unresolved for a whole break duration lets a new probe through, and its late result counts once', () => {
    const h = coreHarness({ windowSize: 2, minimumCalls: 2, waitInOpenMs: 1000, singleProbe: true, maxWaitInHalfOpenMs: 0 })
    h.calls(2, 'failure')
    h.clock.advance(1000)
    const epoch = h.core.epoch + 1
    const stuck = h.core.acquire()
    h.clock.advance(999)
    expect(h.core.acquire()).toBe(REJECTED)
    expect(h.core.rejection().retryAfterMs).toBe(1)
    h.clock.advance(1)
    const second = h.core.acquire()
    expect(second).toBeGreaterThan(0)
    expect(h.core.halfOpenInFlight).toBe(1)
    h.core.complete(epoch, stuck, 'success', 2000) // late, but real news: it decides
    expect(h.core.state).toBe('closed')
    h.core.complete(epoch, second, 'failure', 1) // an older epoch now: not judged
    expect(h.core.state).toBe('closed')
  })
})

describe('open interval backoff (Pekko)', () => {
  it('grows by the factor after each failed recovery, capped, and starts over after closing', () => {
    const h = coreHarness({ windowSize: 1, minimumCalls: 1, waitInOpenMs: 1000, permittedCallsInHalfOpen: 1, backoff: { factor: 2, maxMs: 5000 }, maxWaitInHalfOpenMs: 0 })
    const openFor: number[] = []
    h.call('failure')
    for (let i = 0; i < 5; i++) {
      openFor.push(h.events.at(-1)!.openForMs!)
      h.clock.advance(h.events.at(-1)!.openForMs!)
      expect(h.call('failure')).toBe(true) // the probe fails
    }
    expect(openFor).toEqual([1000, 2000, 4000, 5000, 5000])
    h.clock.advance(5000)
    h.call('success')
    expect(h.core.state).toBe('closed')
    h.call('failure')
    expect(h.events.at(-1)?.openForMs).toBe(1000)
  })

  it('jitter stretches each interval by at most the random factor, from the injected Random', () => {
    const draws = [0, 0.5, 0.999]
    let i = 0
    const h = coreHarness({ windowSize: 1, minimumCalls: 1, waitInOpenMs: 1000, permittedCallsInHalfOpen: 1, backoff: { factor: 2, maxMs: 60_000, jitter: 0.2 } }, { next: () => draws[i++ % draws.length]! })
    h.call('failure')
    const first = h.events.at(-1)!.openForMs!
    h.clock.advance(first)
    h.call('failure')
    const second = h.events.at(-1)!.openForMs!
    h.clock.advance(second)
    h.call('failure')
    const third = h.events.at(-1)!.openForMs!
    expect(first).toBe(1000)
    expect(second).toBeCloseTo(2000 * 1.1)
    expect(third).toBeCloseTo(4000 * (1 + 0.999 * 0.2))
  })

  it('an operator trip opens at the base interval', () => {
    const h = coreHarness({ waitInOpenMs: 250 })
    expect(h.core.trip()).toBe(true)
    expect(h.core.trip()).toBe(false)
    expect(h.core.rejection().retryAfterMs).toBe(250)
  })
})
