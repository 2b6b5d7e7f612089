import type { ActorRef } from '../../runtime/index.ts'
import type { PubSubLaggedError } from './errors.ts'

/** What a subscriber whose buffer is full loses: the oldest held message, the new one, or its subscription. */
export type LagPolicy = 'drop-oldest' | 'drop-newest' | 'disconnect'

export interface SubscribeOptions {
  /** Messages held for this subscriber while it handles one. Default 1000. */
  readonly bufferSize?: number
  /** Default `drop-oldest`. */
  readonly lagPolicy?: LagPolicy
  /** How long one delivery may take before the next one goes (the slow one counts as delivered). Default 30 000 ms. */
  readonly deliveryTimeoutMs?: number
}

/** A typed topic: subscribers implement `P`, publishers send its methods. */
export interface PubSubTopic<P> {
  readonly id: string
  readonly __protocol?: P
}

export type PubSubCloseReason = 'unsubscribed' | 'terminated' | 'lagged' | 'stopped'

export interface PubSubClosed {
  readonly topic: string
  readonly reason: PubSubCloseReason
  /** For `lagged`: the typed notice (ERR_PUBSUB_LAGGED). */
  readonly error?: PubSubLaggedError
}

/** One subscription: ends on unsubscribe, on the subscriber's termination, or on lag with policy `disconnect`. */
export interface PubSubSubscription {
  readonly topic: string
  readonly closed: Promise<PubSubClosed>
  /** Messages this subscription dropped under its lag policy (drop-oldest / drop-newest). */
  readonly dropped: number
  unsubscribe(): void
}

/** @internal One local subscriber of one topic, with its bounded buffer (one delivery in flight at a time). */
export interface LocalSubscriber {
  readonly topic: string
  readonly ref: ActorRef<any>
  readonly bufferSize: number
  readonly lagPolicy: LagPolicy
  readonly deliveryTimeoutMs: number
  readonly buffer: { readonly method: string; readonly args: unknown[] }[]
  inFlight: boolean
  dropped: number
  delivered: number
  open: boolean
  readonly close: (closed: PubSubClosed) => void
}
