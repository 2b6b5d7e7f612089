/**
 * The closure-free hooks: beforeHandle/afterHandle bracket every handler, aroundHandle only wraps
 * the messages beforeHandle picks; metrics time a sample of handlers yet count every one.
 */
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { Actor, ActorSystem, combineInstrumentation, type Instrumentation } from '../../../../runtime/index.ts'
import { TroupeMetrics } from '../../../../cluster/observability/index.ts'

interface WorkProtocol {
  work(n: number): number
  later(): Promise<string>
  fail(): void
}
class Work extends Actor<WorkProtocol> implements WorkProtocol {
  work(n: number) {
    return n
  }
  async later() {
    await Promise.resolve()
    return 'later'
  }
  fail(): void {
    throw new Error('no')
  }
}

describe('instrumentation hot path', () => {
  it('brackets every handler with beforeHandle/afterHandle and wraps only the messages beforeHandle picks', async () => {
    const events: string[] = []
    const picky: Instrumentation = {
      beforeHandle: (envelope) => {
        events.push(`before ${envelope.method}`)
        return envelope.method === 'later'
      },
      aroundHandle: (envelope, _actor, invoke) => {
        events.push(`around ${envelope.method}`)
        return invoke()
      },
      afterHandle: (envelope, _actor, result, threw) => {
        events.push(`after ${envelope.method} ${threw ? 'threw' : typeof result === 'object' ? 'promise' : String(result)}`)
      },
    }
    const wrapsAll: Instrumentation = { aroundHandle: (_envelope, _actor, invoke) => invoke() }
    const system = ActorSystem.create({ name: 'hot', instrumentation: combineInstrumentation([picky, wrapsAll]) })
    const work = system.spawn(Work)
    expect(await work.ask('work', 7)).toBe(7)
    expect(await work.ask('later')).toBe('later')
    await expect(work.ask('fail')).rejects.toThrow('no')
    expect(events).toEqual(['before work', 'after work 7', 'before later', 'around later', 'after later promise', 'before fail', 'after fail threw'])
    await system.terminate()
  })

  it('times a sample of handlers (sample and hold) yet counts every one in the histogram', async () => {
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry, handlerTimingRatio: 0.1 })
    const system = ActorSystem.create({ name: 'sampled-timing', instrumentation: metrics.instrumentation, mailboxHooks: metrics.mailboxHooks })
    metrics.observe(system)
    const work = system.spawn(Work)
    for (let i = 0; i < 999; i++) work.tell('work', i)
    await work.ask('later')
    const text = await registry.metrics()
    expect(text).toContain('troupe_messages_processed_total{actor_type="Work",outcome="ok"} 1000')
    expect(text).toMatch(/^troupe_message_processing_seconds_count\{actor_type="Work"\} 1000$/m)
    expect(text).toMatch(/^troupe_message_processing_seconds_bucket\{le="\+Inf",actor_type="Work"\} 1000$/m)
    expect(text).toContain('troupe_mailbox_messages{actor_type="Work"} 0')
    expect(() => new TroupeMetrics({ registry: new Registry(), handlerTimingRatio: 0 })).toThrow(RangeError)
    metrics.close()
    await system.terminate()
  })
})
