import { DEFAULT_MAX_WAITING_OFFERS, type ActorSystemOptions } from './ActorSystemOptions.ts'
import type { Envelope } from './Envelope.ts'
import { InvalidArgumentError, UnknownActorError } from './errors.ts'
import { RemoteOffers } from './RemoteOffers.ts'
import type { SystemHost } from './SystemHost.ts'

/** The system's offers waiting for a transport's room, sent through whatever router is set when they go. */
export function offersFor(host: SystemHost, options: ActorSystemOptions): RemoteOffers {
  const system = host.system
  const offerTimeoutMs = options.offerTimeoutMs ?? system.askTimeoutMs
  if (!(offerTimeoutMs > 0)) throw new InvalidArgumentError(`offerTimeoutMs must be > 0, got ${offerTimeoutMs}`)
  const maxWaiting = options.maxWaitingOffers ?? DEFAULT_MAX_WAITING_OFFERS
  if (!(maxWaiting >= 0)) throw new InvalidArgumentError(`maxWaitingOffers must be >= 0, got ${maxWaiting}`)
  return new RemoteOffers({
    clock: system.clock,
    scheduler: system.scheduler,
    maxWaiting,
    timeoutMs: offerTimeoutMs,
    send: (envelopes) => {
      const router = host.router
      if (router === null) throw new UnknownActorError(`no route to ${(envelopes[0] as Envelope).target.toString()}: the transport is gone`)
      if (router.sendNow !== undefined) router.sendNow(envelopes)
      else for (const envelope of envelopes) router.route(envelope)
    },
  })
}
