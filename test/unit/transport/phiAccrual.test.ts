import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ArrivalWindow, phi, PHI_ACCRUAL_DEFAULTS, phiAccrualSettings } from '../../../cluster/index.ts'

const settings = phiAccrualSettings({ acceptablePauseMs: 0, minStdDeviationMs: 50, firstHeartbeatEstimateMs: 1000 })

/** A window fed heartbeats at the given intervals, starting at 0; returns it and the last arrival time. */
function fed(intervals: readonly number[], options = settings): [ArrivalWindow, number] {
  const window = new ArrivalWindow(options, 0)
  let t = 0
  for (const interval of intervals) {
    t += interval
    window.heartbeat(t)
  }
  return [window, t]
}

const intervals = fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 0, maxLength: 60 })

describe('φ-accrual failure detector', () => {
  it('φ grows with the silence: never decreasing, and strictly past the mean', () => {
    fc.assert(
      fc.property(intervals, fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (history, a, extra) => {
        const [window, last] = fed(history)
        const before = window.phi(last + a)
        const after = window.phi(last + a + extra)
        expect(after).toBeGreaterThanOrEqual(before)
        expect(Number.isFinite(after)).toBe(true)
        expect(before).toBeGreaterThanOrEqual(0)
      }),
    )
  })

  it('the formula itself is monotone and finite for any silence, mean and deviation', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e9, noNaN: true }), fc.double({ min: 0, max: 1e7, noNaN: true }), fc.double({ min: 1, max: 1e5, noNaN: true }), (elapsed, more, mean, std) => {
        const a = phi(elapsed, mean, std)
        const b = phi(elapsed + more, mean, std)
        expect(b).toBeGreaterThanOrEqual(a)
        expect(Number.isFinite(b)).toBe(true)
      }),
    )
  })

  it('a more generous acceptable pause or a higher deviation floor never raises φ', () => {
    fc.assert(
      fc.property(intervals, fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 1000 }), (history, silence, pause, floor) => {
        const strict = phiAccrualSettings({ acceptablePauseMs: pause, minStdDeviationMs: floor })
        const lenient = phiAccrualSettings({ acceptablePauseMs: pause + 500, minStdDeviationMs: floor + 100 })
        const [a, last] = fed(history, strict)
        const [b] = fed(history, lenient)
        expect(b.phi(last + silence)).toBeLessThanOrEqual(a.phi(last + silence) + 1e-9)
      }),
    )
  })

  it('a heartbeat resets the suspicion: right after one, φ is below 1 whatever came before', () => {
    fc.assert(
      fc.property(intervals, fc.integer({ min: 1, max: 100_000 }), (history, gap) => {
        const [window, last] = fed(history)
        window.heartbeat(last + gap)
        expect(window.phi(last + gap)).toBeLessThan(1)
      }),
    )
  })

  it('with regular 1 s beats and the defaults, a peer is suspected only a few seconds into silence', () => {
    const defaults = phiAccrualSettings()
    const [window, last] = fed(Array.from({ length: 100 }, () => 1000), defaults)
    expect(window.mean()).toBeCloseTo(1000, 0)
    // mean 1000 + acceptable pause 3000, deviation floored at 100 ms.
    expect(window.phi(last + 1000)).toBeLessThan(0.01)
    expect(window.phi(last + 4000)).toBeCloseTo(Math.log10(2), 5)
    expect(window.phi(last + 4400)).toBeLessThan(PHI_ACCRUAL_DEFAULTS.threshold)
    expect(window.phi(last + 4600)).toBeGreaterThan(PHI_ACCRUAL_DEFAULTS.threshold)
  })

  it('jittery heartbeats make the detector more patient than regular ones', () => {
    const regular = fed(Array.from({ length: 50 }, () => 1000))
    const jittery = fed(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? 400 : 1600)))
    const silence = 1800
    expect(jittery[0].phi(jittery[1] + silence)).toBeLessThan(regular[0].phi(regular[1] + silence))
  })

  it('restart moves the clock without recording the interval (time this node was away says nothing about the peer)', () => {
    const [window, last] = fed([1000, 1000, 1000, 1000])
    const mean = window.mean()
    window.restart(last + 60_000)
    expect(window.mean()).toBe(mean)
    expect(window.phi(last + 60_000)).toBeLessThan(0.01)
  })

  it('the sliding window forgets the oldest intervals', () => {
    const small = phiAccrualSettings({ maxSamples: 4 })
    const [window] = fed([5000, 5000, 5000, 5000, 100, 100, 100, 100], small)
    expect(window.mean()).toBeCloseTo(100, 6)
  })

  it('refuses nonsense settings with ERR_INVALID_ARGUMENT', () => {
    for (const bad of [{ threshold: 0 }, { minStdDeviationMs: -1 }, { acceptablePauseMs: -5 }, { firstHeartbeatEstimateMs: Number.NaN }, { maxSamples: 1 }, { maxSamples: 2.5 }]) {
      expect(() => phiAccrualSettings(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }))
    }
  })
})
