import type { Envelope } from './Envelope.ts'
import { topic } from './EventStream.ts'

/** Why a message could not be delivered or handled. */
export type DeadLetterReason =
  /** The target had stopped (or stopped with the message still queued). */
  | 'stopped'
  /** No actor at that address or name. */
  | 'unknown'
  /** The target mailbox was full (drop-newest / drop-oldest). */
  | 'overflow'
  /** A reply arrived after its ask had timed out or settled. */
  | 'late-reply'
  /** The handler failed on this message; it is not redelivered. */
  | 'failed'
  /** The target has no handler of that name. */
  | 'unknown-method'
  /** The handler refused it with a Rejection (a tell has nobody to tell). */
  | 'rejected'
  /** A transport could not carry it (peer down, buffer full, not encodable). */
  | 'undeliverable'
  /** It arrived while its target was backing off, and the stash kept for that was full. */
  | 'stash-full'

export interface DeadLetter {
  readonly envelope: Envelope
  readonly reason: DeadLetterReason
  /** The failure, when `reason` is `failed`. */
  readonly error?: Error
}

/** Every dead letter is published here, and counted by `system.deadLetters.count`. */
export const DeadLetterTopic = topic<DeadLetter>('troupe.dead-letters')
