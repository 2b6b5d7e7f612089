import type { ActorRef, MethodArgs, MethodName } from '../../runtime/index.ts'
import type { FeatureContext } from './FeatureContext.ts'
import { topicKey, type PubSubMediatorProtocol, type PubSubTable } from './PubSubMediator.ts'
import type { LocalSubscriber, PubSubClosed, PubSubSubscription, PubSubTopic, SubscribeOptions } from './PubSubTypes.ts'
import { checkName, resolveEntries } from './ServiceKey.ts'

export function pubSubTopic<P>(id: string): PubSubTopic<P> {
  checkName(id, 'topic')
  return { id }
}

/**
 * Distributed pub-sub (`cluster.pubsub`): subscribe local actors to a topic, publish from any member.
 * Guarantee: at most once per subscriber (no resend, duplicates dropped); order per publisher as the
 * network keeps it; a subscriber's buffer is bounded and its lag policy says what goes when it is full.
 * A publish reaches the members that the local replica lists for the topic: a member that subscribed
 * a moment ago on another node may miss it (the listing converges within the replication lag).
 */
export class PubSub {
  private readonly f: FeatureContext
  private readonly table: PubSubTable
  private readonly mediator: ActorRef<PubSubMediatorProtocol>
  private readonly origin: string
  private seq = 0
  /** Messages published here, counted once per publish (not per receiver). */
  published = 0

  /** @internal Made by createCluster. */
  constructor(features: FeatureContext, table: PubSubTable, mediator: ActorRef<PubSubMediatorProtocol>) {
    this.f = features
    this.table = table
    this.mediator = mediator
    const self = features.state.self
    this.origin = `${self.node}#${self.incarnation}`
  }

  subscribe<P>(topic: PubSubTopic<P>, ref: ActorRef<P>, options: SubscribeOptions = {}): PubSubSubscription {
    let closeWith: (c: PubSubClosed) => void = () => {}
    const closed = new Promise<PubSubClosed>((resolve) => (closeWith = resolve))
    const sub: LocalSubscriber = {
      topic: topic.id,
      ref,
      bufferSize: Math.max(1, options.bufferSize ?? 1000),
      lagPolicy: options.lagPolicy ?? 'drop-oldest',
      deliveryTimeoutMs: options.deliveryTimeoutMs ?? 30_000,
      buffer: [],
      inFlight: false,
      dropped: 0,
      delivered: 0,
      open: true,
      close: closeWith,
    }
    let set = this.table.byTopic.get(topic.id)
    if (set === undefined) this.table.byTopic.set(topic.id, (set = new Set()))
    set.add(sub)
    this.mediator.tell('watchSubscriber', ref)
    this.mediator.tell('reconcile')
    const table = this.table
    const mediator = this.mediator
    return {
      topic: topic.id,
      closed,
      get dropped() {
        return sub.dropped
      },
      unsubscribe() {
        if (!sub.open) return
        sub.open = false
        sub.buffer.length = 0
        table.byTopic.get(topic.id)?.delete(sub)
        closeWith({ topic: topic.id, reason: 'unsubscribed' })
        mediator.tell('reconcile')
      },
    }
  }

  /** Sends `method(...args)` to every subscriber of `topic` in the cluster, at most once each. Returns how many members it went to. */
  publish<P, K extends MethodName<P>>(topic: PubSubTopic<P>, method: K, ...args: MethodArgs<P, K>): number {
    const seq = ++this.seq
    this.published++
    const mediators = resolveEntries<PubSubMediatorProtocol>(this.f.system, this.f.state.lookupCached(topicKey(topic.id)), this.f.malformed)
    for (const m of mediators) m.tell('deliver', topic.id, this.origin, seq, method, args as unknown[])
    return mediators.length
  }

  /** Members whose mediator is listed for `topic` in this member's replica. */
  members(topic: PubSubTopic<unknown>): string[] {
    return this.f.state.lookupCached(topicKey(topic.id)).map((e) => e.node)
  }

  /** @internal Closes every local subscription (cluster.stop()). */
  close(): void {
    for (const subs of this.table.byTopic.values()) {
      for (const s of subs) {
        s.open = false
        s.close({ topic: s.topic, reason: 'stopped' })
      }
    }
    this.table.byTopic.clear()
  }
}
