import { Actor, type ActorRef, type Terminated } from '../../runtime/index.ts'
import { ClusterQuarantinedError } from '../membership/index.ts'
import type { FeatureContext } from './FeatureContext.ts'
import type { Receptionist } from './Receptionist.ts'
import { refString, RESERVED_PREFIX } from './ServiceKey.ts'
import { PubSubLaggedError } from './errors.ts'
import type { LocalSubscriber } from './PubSubTypes.ts'

export function topicKey(topic: string): string {
  return `${RESERVED_PREFIX}pubsub/${topic}`
}

/** Per publishing member incarnation, ids seen recently: a duplicated frame is dropped, not delivered twice. */
const DEDUP_WINDOW = 4096

export interface PubSubMediatorProtocol {
  deliver(topic: string, origin: string, seq: number, method: string, args: unknown[]): void
  watchSubscriber(ref: ActorRef<any>): void
  reconcile(): void
}

/** @internal State shared by the member's PubSub facade (subscribe/unsubscribe, synchronous) and its mediator actor. */
export interface PubSubTable {
  readonly byTopic: Map<string, Set<LocalSubscriber>>
}

/**
 * One per member (Akka's DistributedPubSubMediator). It is registered under a topic's reserved
 * registry name only while it has a local subscriber of that topic: the first subscriber registers,
 * the last one leaving unregisters — a Raft write per member and topic, not per subscriber.
 * Publishers send each message once to every mediator listed for the topic; a mediator hands it to
 * each local subscriber at most once (duplicates are dropped by id), through a bounded buffer with
 * one delivery in flight, applying the subscriber's lag policy when the buffer is full.
 */
export class PubSubMediator extends Actor<PubSubMediatorProtocol> implements PubSubMediatorProtocol {
  private readonly f: FeatureContext
  private readonly receptionist: Receptionist
  private readonly table: PubSubTable
  private readonly seen = new Map<string, { floor: number; ids: Set<number>; max: number }>()
  private readonly busy = new Set<string>()
  private closed = false
  /** Messages dropped as duplicates (a faulty network delivered a frame twice). */
  duplicates = 0

  constructor(features: FeatureContext, receptionist: Receptionist, table: PubSubTable) {
    super()
    this.f = features
    this.receptionist = receptionist
    this.table = table
  }

  override preStart(): void {
    // Retries of registrations that met no quorum, and the cleanup of topics left while one was in flight.
    this.context.timers.startPeriodic('reconcile', 500, 'reconcile')
  }

  override postStop(): void {
    this.closed = true
  }

  deliver(topic: string, origin: string, seq: number, method: string, args: unknown[]): void {
    if (!this.firstTime(origin, seq)) {
      this.duplicates++
      return
    }
    const subs = this.table.byTopic.get(topic)
    if (subs === undefined) return
    for (const s of subs) {
      if (!s.open) continue
      if (s.buffer.length >= s.bufferSize) {
        if (s.lagPolicy === 'drop-newest') {
          s.dropped++
          continue
        }
        if (s.lagPolicy === 'disconnect') {
          this.remove(s, { topic, reason: 'lagged', error: new PubSubLaggedError(`subscriber ${s.ref.path} of ${topic} fell ${s.bufferSize} messages behind`) })
          continue
        }
        s.buffer.shift()
        s.dropped++
      }
      s.buffer.push({ method, args })
      this.pump(s)
    }
  }

  watchSubscriber(ref: ActorRef<any>): void {
    this.context.watch(ref)
  }

  override onTerminated(t: Terminated): void {
    for (const subs of this.table.byTopic.values()) for (const s of [...subs]) if (s.ref.equals(t.ref)) this.remove(s, { topic: s.topic, reason: 'terminated' })
  }

  /** Registers under topics that have local subscribers and unregisters from those that lost the last one. */
  reconcile(): void {
    if (this.f.isStopped() || this.closed || this.f.state.quarantined) return
    const me = refString(this.self)
    for (const [topic, subs] of this.table.byTopic) {
      const key = topicKey(topic)
      if (this.busy.has(key)) continue
      const listed = this.f.state.lookupCached(key).some((e) => e.ref === me)
      const wanted = [...subs].some((s) => s.open)
      if (!wanted && !listed) {
        this.table.byTopic.delete(topic)
        continue
      }
      if (wanted === listed) continue
      this.busy.add(key)
      const write = wanted ? this.receptionist.addInternal(key, this.self, false) : this.f.state.unregister(key, me)
      write.then(
        () => this.settled(key),
        (error: unknown) => this.settled(key, error instanceof ClusterQuarantinedError),
      )
    }
  }

  private settled(key: string, final = false): void {
    this.busy.delete(key)
    if (!final && !this.closed) this.self.tell('reconcile')
  }

  private remove(s: LocalSubscriber, closed: Parameters<LocalSubscriber['close']>[0]): void {
    s.open = false
    s.buffer.length = 0
    this.table.byTopic.get(s.topic)?.delete(s)
    s.close(closed)
    this.reconcile()
  }

  /** One delivery in flight per subscriber: the buffer is what waits behind it (an ask, so its end is known). */
  private pump(s: LocalSubscriber): void {
    if (s.inFlight || !s.open) return
    const next = s.buffer.shift()
    if (next === undefined) return
    s.inFlight = true
    const ask = s.ref.askWith as (o: { timeoutMs: number }, m: string, ...a: unknown[]) => Promise<unknown>
    // A handler that throws, or a slow one that times out, still counts as delivered: at most once, never retried.
    ask.call(s.ref, { timeoutMs: s.deliveryTimeoutMs }, next.method, ...next.args).then(
      () => this.after(s),
      () => this.after(s),
    )
    s.delivered++
  }

  private after(s: LocalSubscriber): void {
    s.inFlight = false
    if (!this.closed) this.pump(s)
  }

  private firstTime(origin: string, seq: number): boolean {
    let w = this.seen.get(origin)
    if (w === undefined) this.seen.set(origin, (w = { floor: 0, ids: new Set(), max: 0 }))
    if (seq <= w.floor || w.ids.has(seq)) return false
    w.ids.add(seq)
    if (seq > w.max) w.max = seq
    if (w.ids.size > DEDUP_WINDOW) {
      // Forget the oldest half; anything at or below the new floor counts as seen (dropped if it comes late).
      w.floor = w.max - DEDUP_WINDOW / 2
      for (const id of w.ids) if (id <= w.floor) w.ids.delete(id)
    }
    return true
  }
}
