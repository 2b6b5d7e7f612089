import type { Envelope } from './Envelope.ts'
import type { ActorTypeCounts, HandlerCounting } from './HandlerCounting.ts'
import type { Instrumentation } from './Instrumentation.ts'
import type { SystemHost } from './SystemHost.ts'

/** The dispatcher's counts for an actor class (Instrumentation.counting); called once per run of messages. */
export function countsFor(host: SystemHost, actorClass: { readonly name: string }): ActorTypeCounts {
  if (actorClass === host.countedClass) return host.lastCounts as ActorTypeCounts
  let counts = host.countsByClass.get(actorClass)
  if (counts === undefined) {
    counts = (host.counting as HandlerCounting).countsFor(actorClass.name)
    host.countsByClass.set(actorClass, counts)
  }
  host.countedClass = actorClass
  host.lastCounts = counts
  return counts
}

/**
 * Hands a send to the instrumentation's `onSend`, or, with send-site sampling, only the sends
 * that belong to a trace or start one (Instrumentation.sampling); the rest cost these branches.
 */
export function announce(host: SystemHost, envelope: Envelope): void {
  const instrumentation = host.instrumentation as Instrumentation
  const sampling = host.sampling
  if (sampling !== null && envelope.headers === null) {
    if (host.currentCell !== null) {
      if (!host.inTracedHandler) return
    } else if (host.tracedPending === 0) {
      if (--sampling.untilNext > 0) return
      sampling.untilNext = sampling.period
      instrumentation.onSend?.(envelope, true)
      return
    }
  }
  instrumentation.onSend?.(envelope, false)
}
