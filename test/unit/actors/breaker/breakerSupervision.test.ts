/**
 * The breaker as a supervised child: started from a child spec, restarted in place with its state
 * kept or reset as its policy says (clients follow either way), and its metrics on a caller's
 * prom-client registry.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../../../runtime/index.ts'
import { childSpec, Supervisor } from '../../../../supervision/index.ts'
import { ActorTestKit } from '../../../../testing/index.ts'
import { BreakerClient, BreakerTransitionTopic, CircuitBreaker, spawnBreaker, type BreakerOptions, type BreakerTransition, type CircuitBreakerProtocol } from '../../../../actors/index.ts'

let kit: ActorTestKit | null = null
afterEach(async () => {
  await kit?.shutdown()
  kit = null
})

interface ParentProtocol {
  breaker(): ActorRef<CircuitBreakerProtocol>
  restart(): Promise<void>
}

/** Owns a breaker child and restarts it on demand, as a supervisor would after a failure. */
class Parent extends Actor<ParentProtocol> implements ParentProtocol {
  private child!: ActorRef<CircuitBreakerProtocol>
  private readonly options: BreakerOptions
  constructor(options: BreakerOptions) {
    super()
    this.options = options
  }
  override async preStart(): Promise<void> {
    this.child = await this.context.spawnAndWait(CircuitBreaker, { name: 'breaker', args: [this.options] })
  }
  breaker(): ActorRef<CircuitBreakerProtocol> {
    return this.child
  }
  restart(): Promise<void> {
    return this.context.restartChild(this.child, new Error('simulated crash'))
  }
}

async function openedChild(onRestart: 'keep' | 'reset'): Promise<{ kit: ActorTestKit; parent: ActorRef<ParentProtocol>; ref: ActorRef<CircuitBreakerProtocol>; client: BreakerClient }> {
  kit = ActorTestKit.create({ seed: 4 })
  const parent = kit.spawn(Parent, { args: [{ name: 'pg', windowSize: 1, minimumCalls: 1, waitInOpenMs: 30_000, onRestart }] })
  const ref = await kit.ask(parent, 'breaker')
  const client = await kit.sim.settle(BreakerClient.connect(kit.system, ref))
  await kit.sim.settle(client.execute(() => Promise.reject(new Error('down'))).catch(() => undefined))
  await kit.advance(0)
  expect(client.state).toBe('open')
  return { kit, parent, ref, client }
}

describe('restart policy', () => {
  it('keep: the restarted breaker is still open, same epoch, and its clients still reject', async () => {
    const { kit, parent, ref, client } = await openedChild('keep')
    const events: BreakerTransition[] = []
    kit.system.subscribe(BreakerTransitionTopic, (t) => events.push(t))
    const before = await kit.ask(ref, 'snapshot')
    await kit.ask(parent, 'restart')
    const after = await kit.ask(ref, 'snapshot')
    expect(after).toMatchObject({ state: 'open', epoch: before.epoch, openUntil: before.openUntil })
    expect(events).toEqual([])
    expect(client.state).toBe('open')
    await expect(kit.sim.settle(client.execute(() => 1))).rejects.toMatchObject({ code: 'ERR_CALL_NOT_PERMITTED' })
  })

  it('reset: the restarted breaker starts closed in a later epoch, and its clients follow', async () => {
    const { kit, parent, ref, client } = await openedChild('reset')
    const events: BreakerTransition[] = []
    kit.system.subscribe(BreakerTransitionTopic, (t) => events.push(t))
    const before = await kit.ask(ref, 'snapshot')
    await kit.ask(parent, 'restart')
    const after = await kit.ask(ref, 'snapshot')
    expect(after.state).toBe('closed')
    expect(after.epoch).toBeGreaterThan(before.epoch)
    expect(client.state).toBe('closed')
    expect(events).toMatchObject([{ from: 'open', to: 'closed', reason: 'restarted', epoch: after.epoch }])
    expect(await kit.sim.settle(client.execute(() => 1))).toBe(1)
  })
})

describe('under a Supervisor', () => {
  it('starts from a child spec and serves a client', async () => {
    kit = ActorTestKit.create({ seed: 5 })
    const options: BreakerOptions = { name: 'redis', windowSize: 2, minimumCalls: 2 }
    const sup = kit.spawn(Supervisor, { args: [{ strategy: 'one_for_one', children: [childSpec({ id: 'breaker', actor: CircuitBreaker, args: [options] })] }] })
    const ref = (await kit.ask(sup, 'lookupChild', 'breaker')) as ActorRef<CircuitBreakerProtocol>
    expect(ref).not.toBeNull()
    const client = await kit.sim.settle(BreakerClient.connect(kit.system, ref, options))
    expect(await kit.sim.settle(client.execute(() => 'ok'))).toBe('ok')
    expect(ref.path).toMatch(/\/breaker$/)
  })
})

describe('metrics', () => {
  it('state, calls by outcome and rejections on the caller-supplied registry, labelled by breaker name', async () => {
    kit = ActorTestKit.create({ seed: 6 })
    const registry = new Registry()
    const { ref, client } = await kit.sim.settle(
      spawnBreaker(kit.system, { name: 'payments', registry, windowSize: 3, minimumCalls: 3, failureRateThreshold: 30, slowCallDurationMs: 50, waitInOpenMs: 1000, ignoreError: (e) => (e as Error).message === 'bad input' }),
    )
    const run = (fn: () => unknown) => kit!.sim.settle(client.execute(fn).catch(() => undefined))
    await run(() => 'ok')
    await run(() => Promise.reject(new Error('bad input')))
    await run(
      () =>
        new Promise((resolve) => {
          kit!.system.clock.setTimer(80, () => resolve('slow'))
        }),
    )
    await run(() => Promise.reject(new Error('down')))
    await kit.advance(0)
    expect(client.state).toBe('open')
    await run(() => 'rejected')
    await run(() => 'rejected')
    // Local rejections are counted in the next report: after reportDelayMs (5 by default).
    await kit.advance(5)
    const text = await registry.metrics()
    expect(text).toContain('troupe_breaker_state{name="payments",state="open"} 1')
    expect(text).toContain('troupe_breaker_state{name="payments",state="closed"} 0')
    expect(text).toContain('troupe_breaker_calls_total{name="payments",outcome="success"} 1')
    expect(text).toContain('troupe_breaker_calls_total{name="payments",outcome="slow_success"} 1')
    expect(text).toContain('troupe_breaker_calls_total{name="payments",outcome="failure"} 1')
    expect(text).toContain('troupe_breaker_calls_total{name="payments",outcome="ignored"} 1')
    expect(text).toContain('troupe_breaker_rejections_total{name="payments",state="open"} 2')
    // A stopped breaker's counts stay in the totals.
    await kit.sim.settle(kit.system.stop(ref))
    const after = await registry.metrics()
    expect(after).toContain('troupe_breaker_rejections_total{name="payments",state="open"} 2')
    expect(after).not.toContain('troupe_breaker_state{name="payments"')
  })
})
