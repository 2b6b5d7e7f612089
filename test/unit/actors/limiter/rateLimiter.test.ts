/**
 * RateLimiter (rate-limiter-flexible's surface) over the local store, and its failure handling over
 * a store that goes down (the same port, failing on command): insurance, fail-open/closed/error,
 * the in-memory block shortcut and execute-evenly, on virtual time.
 */
import { describe, expect, it } from 'vitest'
import {
  LimiterErrorCodes,
  LimiterUnavailableError,
  LocalLimiter,
  RateLimiter,
  type Decision,
  type LimiterSpec,
  type LimiterStore,
} from '../../../../actors/index.ts'
import { VirtualClock, settle } from '../../../../testing/index.ts'

/** A store that answers like `inner` until told it is down; counts the calls that reached it. */
class SwitchableStore implements LimiterStore {
  down = false
  calls = 0
  private readonly inner: LocalLimiter
  constructor(inner: LocalLimiter) {
    this.inner = inner
  }
  get limit(): number {
    return this.inner.limit
  }
  private gate<T>(fn: () => T): Promise<T> {
    this.calls++
    if (this.down) return Promise.reject(new LimiterUnavailableError('store down (test)'))
    return Promise.resolve(fn())
  }
  decide(key: string, cost: number): Promise<Decision> {
    return this.gate(() => this.inner.decide(key, cost))
  }
  adjust(key: string, delta: number): Promise<Decision> {
    return this.gate(() => this.inner.adjust(key, delta))
  }
  get(key: string): Promise<Decision | null> {
    return this.gate(() => this.inner.get(key))
  }
  set(key: string, consumed: number, durationMs?: number): Promise<Decision> {
    return this.gate(() => this.inner.set(key, consumed, durationMs))
  }
  delete(key: string): Promise<boolean> {
    return this.gate(() => this.inner.delete(key))
  }
  block(key: string, durationMs: number): Promise<Decision> {
    return this.gate(() => this.inner.block(key, durationMs))
  }
}

const spec: LimiterSpec = { algorithm: 'fixed-window', limit: 3, windowMs: 1000 }

function setup(options: Partial<ConstructorParameters<typeof RateLimiter>[0]> = {}) {
  const clock = new VirtualClock(0)
  const store = new SwitchableStore(new LocalLimiter(spec, clock))
  const limiter = new RateLimiter({ store, clock, ...options })
  return { clock, store, limiter }
}

describe('RateLimiter', () => {
  it('consume resolves while allowed and rejects with ERR_RATE_LIMITED carrying the decision', async () => {
    const { limiter } = setup()
    for (let i = 0; i < 3; i++) await expect(limiter.consume('u')).resolves.toMatchObject({ allowed: true, remaining: 2 - i })
    const refused = await limiter.consume('u').catch((e: unknown) => e)
    expect(refused).toMatchObject({ code: LimiterErrorCodes.RateLimited, data: { allowed: false, retryAfterMs: 1000 } })
    expect(limiter.stats()).toMatchObject({ allowed: 3, refused: 1 })
  })

  it('penalty, reward, get, set, delete and block go to the store', async () => {
    const { limiter } = setup()
    expect(await limiter.get('u')).toBeNull()
    expect((await limiter.penalty('u', 2)).remaining).toBe(1)
    expect((await limiter.reward('u', 1)).remaining).toBe(2)
    expect((await limiter.set('u', 3)).remaining).toBe(0)
    expect((await limiter.decide('u')).allowed).toBe(false)
    expect(await limiter.delete('u')).toBe(true)
    expect((await limiter.block('u', 500)).retryAfterMs).toBe(500)
    expect((await limiter.decide('u')).allowed).toBe(false)
  })

  it('the insurance limiter decides while the store is down, and the store is tried again after storeRetryMs', async () => {
    const clock = new VirtualClock(0)
    const store = new SwitchableStore(new LocalLimiter(spec, clock))
    const insurance = new LocalLimiter({ algorithm: 'fixed-window', limit: 1, windowMs: 1000 }, clock)
    const limiter = new RateLimiter({ store, clock, insurance, storeRetryMs: 200 })
    store.down = true
    expect(await limiter.decide('u')).toMatchObject({ allowed: true, source: 'insurance' })
    expect(await limiter.decide('u')).toMatchObject({ allowed: false, source: 'insurance' })
    expect(store.calls).toBe(1) // suspended: the second call did not wait on the dead store
    store.down = false
    clock.advance(200)
    expect(await limiter.decide('u')).toMatchObject({ allowed: true, source: 'store' })
    expect(limiter.stats()).toMatchObject({ storeFailures: 1, bySource: { insurance: 2, store: 1 } })
  })

  it('fail-closed refuses, fail-open admits (and says so), error rejects with ERR_LIMITER_UNAVAILABLE', async () => {
    for (const [policy, expected] of [
      ['closed', { allowed: false, source: 'fail-closed', retryAfterMs: 1000 }],
      ['open', { allowed: true, source: 'fail-open' }],
    ] as const) {
      const { store, limiter } = setup({ failurePolicy: policy })
      store.down = true
      expect(await limiter.decide('u')).toMatchObject(expected)
      expect(limiter.stats().bySource[expected.source]).toBe(1)
    }
    const { store, limiter } = setup({ failurePolicy: 'error' })
    store.down = true
    await expect(limiter.decide('u')).rejects.toMatchObject({ code: LimiterErrorCodes.Unavailable })
    // Non-admission calls never pretend: without insurance they reject whatever the policy.
    await expect(limiter.penalty('u')).rejects.toMatchObject({ code: LimiterErrorCodes.Unavailable })
  })

  it('the in-memory block answers refusals without a store round trip until retryAfter', async () => {
    const { clock, store, limiter } = setup({ inMemoryBlockOnConsumed: 3 })
    for (let i = 0; i < 3; i++) await limiter.decide('u')
    expect(await limiter.decide('u')).toMatchObject({ allowed: false, source: 'store' })
    const before = store.calls
    for (let i = 0; i < 10; i++) expect(await limiter.decide('u')).toMatchObject({ allowed: false, source: 'memory-block' })
    expect(store.calls).toBe(before)
    clock.advance(1000)
    expect(await limiter.decide('u')).toMatchObject({ allowed: true, source: 'store' })
  })

  it('execute-evenly spreads the remaining allowance over the window', async () => {
    const { clock, limiter } = setup({ execEvenly: true })
    let resolved = false
    const pending = limiter.decide('u').then((d) => {
      resolved = true
      return d
    })
    await settle()
    expect(resolved).toBe(false)
    // remaining 2 after this one, 1000 ms to reset: resolves after 1000 / 3 ms.
    clock.advance(333)
    await settle()
    expect(resolved).toBe(false)
    clock.advance(1)
    await settle()
    expect(resolved).toBe(true)
    expect((await pending).allowed).toBe(true)
  })

  it('rejects bad options with ERR_LIMITER_INVALID', () => {
    const clock = new VirtualClock(0)
    const store = new LocalLimiter(spec, clock)
    expect(() => new RateLimiter({ store, clock, failurePolicy: 'maybe' as never })).toThrow(expect.objectContaining({ code: LimiterErrorCodes.Invalid }))
    expect(() => new RateLimiter({ store, clock, storeRetryMs: -1 })).toThrow(expect.objectContaining({ code: LimiterErrorCodes.Invalid }))
  })
})
