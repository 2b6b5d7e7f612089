/**
 * Instrumentation off the hot path (issue #17): with send-site sampling the runtime calls no hook
 * for a message left out; the dispatcher counts on plain fields that metrics read at scrape time;
 * a sampled trace still follows a handler's sends after an await.
 */
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createTracing, TroupeMetrics } from '../../../../cluster/observability/index.ts'
import { Actor, ActorSystem, combineInstrumentation, type ActorRef, type Envelope, type Instrumentation, type SendSampling } from '../../../../runtime/index.ts'
import { waitFor, waitForValue } from '../../../../testing/index.ts'
import { useGlobalOtelSdk } from '../../../support/otelSdk.ts'

interface EchoProtocol {
  echo(text: string): string
}
class Echo extends Actor<EchoProtocol> implements EchoProtocol {
  echo(text: string) {
    return text
  }
}

interface RelayProtocol {
  relay(to: ActorRef<EchoProtocol>): void
  later(to: ActorRef<EchoProtocol>): Promise<void>
  hold(): Promise<void>
  fail(): void
}
const gates: (() => void)[] = []
class Relay extends Actor<RelayProtocol> implements RelayProtocol {
  relay(to: ActorRef<EchoProtocol>) {
    to.tell('echo', 'relayed')
  }
  async later(to: ActorRef<EchoProtocol>) {
    await new Promise<void>((resolve) => setImmediate(resolve))
    to.tell('echo', 'after await')
  }
  hold() {
    return new Promise<void>((resolve) => gates.push(resolve))
  }
  fail(): void {
    throw new Error('no')
  }
}

const exporter = useGlobalOtelSdk()
const systems: ActorSystem[] = []
afterEach(async () => {
  for (const open of gates.splice(0)) open()
  await Promise.all(systems.splice(0).map((system) => system.terminate()))
})
function track(system: ActorSystem): ActorSystem {
  systems.push(system)
  return system
}

/** A send-site-sampled instrumentation that records every call the runtime makes to it. */
function recording(period: number): { instrumentation: Instrumentation; sends: [string, boolean | undefined][]; handled: string[] } {
  const sends: [string, boolean | undefined][] = []
  const handled: string[] = []
  const sampling: SendSampling = { untilNext: 1, period }
  const instrumentation: Instrumentation = {
    sampling,
    onSend(envelope: Envelope, sampled?: boolean) {
      sends.push([envelope.method, sampled])
      // A sampled trace carries its context in the headers.
      envelope.headers = { ...envelope.headers, traced: '1' }
    },
    beforeHandle(envelope: Envelope) {
      handled.push(envelope.method)
      return false
    },
  }
  return { instrumentation, sends, handled }
}

describe('send-site sampling', () => {
  it('calls no hook for a message left out: 1 root send in `period` reaches onSend, and only traced messages reach the handle hooks', async () => {
    const { instrumentation, sends, handled } = recording(10)
    const system = track(ActorSystem.create({ name: 'sampled-sends', instrumentation }))
    const echo = system.spawn(Echo)
    const relay = system.spawn(Relay)
    for (let i = 0; i < 100; i++) relay.tell('relay', echo)
    await waitFor(() => handled.filter((method) => method === 'echo').length === 10)
    // Roots 0, 10, …, 90 from plain code; each traced relay's own tell is announced too (not as a root).
    expect(sends.filter(([method]) => method === 'relay')).toEqual(Array.from({ length: 10 }, () => ['relay', true]))
    expect(sends.filter(([method]) => method === 'echo')).toEqual(Array.from({ length: 10 }, () => ['echo', false]))
    expect(handled.filter((method) => method === 'relay')).toHaveLength(10)
    // The 90 unsampled relays' tells stayed out: nothing announced, nothing bracketed.
    expect(handled).toHaveLength(20)
  })

  it('an instrumentation with per-message hooks beside it turns send-site sampling off: every message reaches them', async () => {
    const { instrumentation } = recording(10)
    let before = 0
    const everyMessage: Instrumentation = {
      beforeHandle: () => {
        before++
      },
    }
    const combined = combineInstrumentation([instrumentation, everyMessage])
    expect(combined.sampling).toBeUndefined()
    const system = track(ActorSystem.create({ name: 'every-message', instrumentation: combined }))
    const echo = system.spawn(Echo)
    for (let i = 0; i < 50; i++) echo.tell('echo', 'x')
    await echo.ask('echo', 'flush')
    expect(before).toBe(51)
    expect(combineInstrumentation([instrumentation, new TroupeMetrics({ registry: new Registry() }).instrumentation]).sampling).toBe(instrumentation.sampling)
  })

  it("continues a sampled trace through a handler's sends after its await", async () => {
    const system = track(ActorSystem.create({ name: 'after-await', instrumentation: createTracing({ sampleRatio: 0.5 }) }))
    const echo = system.spawn(Echo, { name: 'echo' })
    const relay = system.spawn(Relay, { name: 'relay' })
    for (let i = 0; i < 4; i++) relay.tell('later', echo)
    // Roots 0 and 2 are sampled: tell Relay -> process Relay -> (await) -> tell Echo -> process Echo.
    const traceOf = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name).map((s) => s.spanContext().traceId)
    await waitFor(() => traceOf('process Relay').length === 2)
    const relays = traceOf('process Relay')
    expect(new Set(relays).size).toBe(2)
    await waitFor(() => relays.every((id) => traceOf('process Echo').includes(id)))
    expect(relays.every((id) => traceOf('tell Echo').includes(id))).toBe(true)
  })
})

describe('metrics counted by the dispatcher', () => {
  it('counts every handler by outcome, sync and async, and reads mailbox depths at scrape time', async () => {
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry })
    // No mailbox hooks given: depth comes from the mailboxes themselves.
    const system = track(ActorSystem.create({ name: 'counted', instrumentation: combineInstrumentation([createTracing({ sampleRatio: 0.01 }), metrics.instrumentation]) }))
    metrics.observe(system)
    const echo = system.spawn(Echo)
    const relay = system.spawn(Relay)
    for (let i = 0; i < 300; i++) echo.tell('echo', 'x')
    await echo.ask('echo', 'flush')
    relay.tell('hold')
    for (let i = 0; i < 5; i++) relay.tell('relay', echo)
    await waitFor(() => gates.length === 1)
    let text = await registry.metrics()
    expect(text).toContain('troupe_messages_processed_total{actor_type="Echo",outcome="ok"} 301')
    expect(text).toMatch(/^troupe_message_processing_seconds_count\{actor_type="Echo"\} 301$/m)
    expect(text).toMatch(/^troupe_message_processing_seconds_bucket\{le="\+Inf",actor_type="Echo"\} 301$/m)
    // Relay is awaiting `hold`: its 5 relays wait in the mailbox; the held handler is not counted yet.
    expect(text).toContain('troupe_mailbox_messages{actor_type="Relay"} 5')
    expect(text).toContain('troupe_mailbox_messages{actor_type="Echo"} 0')
    expect(text).toContain('troupe_messages_processed_total{actor_type="Relay",outcome="ok"} 0')
    ;(gates.shift() as () => void)()
    text = await waitForValue(() => registry.metrics(), (scraped) => scraped.includes('troupe_messages_processed_total{actor_type="Relay",outcome="ok"} 6'))
    expect(text).toContain('troupe_mailbox_messages{actor_type="Relay"} 0')
    metrics.close()
  })

  it('counts a handler that throws as an error', async () => {
    const registry = new Registry()
    const metrics = new TroupeMetrics({ registry })
    const system = track(ActorSystem.create({ name: 'failing', instrumentation: metrics.instrumentation }))
    metrics.observe(system)
    const relay = system.spawn(Relay)
    await expect(relay.ask('fail')).rejects.toThrow('no')
    await waitForValue(() => registry.metrics(), (scraped) => scraped.includes('troupe_messages_processed_total{actor_type="Relay",outcome="error"} 1'))
    metrics.close()
  })
})
