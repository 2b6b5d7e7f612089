/**
 * Typed errors of the Kafka bridge (actors/kafka). Each says by its code what the bridge does with
 * it: fatal ones (fenced, auth, config) escalate to the supervisor, abortable ones abort the open
 * transaction and retry the batch, transient ones back off and retry, decode errors send the record
 * to the DLQ.
 */
import { defineError, defineRejection } from '../../runtime/index.ts'

export const KafkaErrorCodes = {
  /** Another producer with the same transactional id (a newer epoch) took over: this one is a zombie. Fatal. */
  Fenced: 'ERR_KAFKA_FENCED',
  /** The coordinator aborted the transaction: it stayed open past `transactionTimeoutMs`. Abortable. */
  TransactionTimedOut: 'ERR_KAFKA_TXN_TIMED_OUT',
  /** Offsets sent with an older group generation (KIP-447): the partitions moved on. Abortable. */
  RebalanceInProgress: 'ERR_KAFKA_REBALANCED',
  /** The broker or the network failed the request; retrying may succeed. Transient. */
  Unavailable: 'ERR_KAFKA_UNAVAILABLE',
  /** A request got no answer in time (it may have been applied). Transient. */
  Timeout: 'ERR_KAFKA_TIMEOUT',
  /** Authentication or authorization refused. Fatal. */
  Auth: 'ERR_KAFKA_AUTH',
  /** A call the transaction state does not allow (commit with none open, send after a fatal error). */
  InvalidState: 'ERR_KAFKA_INVALID_STATE',
  /** A record's bytes could not be decoded; the record goes to the DLQ with this error. */
  Decode: 'ERR_KAFKA_DECODE',
  /** Bridge or client options are invalid; `data.problems` lists them. */
  InvalidConfig: 'ERR_KAFKA_INVALID_CONFIG',
  /** The native client could not be loaded (not installed, not built). */
  ClientMissing: 'ERR_KAFKA_CLIENT_MISSING',
  /** A produce request failed after its retries; `data`: `{ topic, attempts }`. */
  ProduceFailed: 'ERR_KAFKA_PRODUCE_FAILED',
  /** The producer or bridge is stopping or stopped. */
  Closed: 'ERR_KAFKA_CLOSED',
} as const

export const KafkaFencedError = defineError(KafkaErrorCodes.Fenced, 'KafkaFencedError')
export type KafkaFencedError = InstanceType<typeof KafkaFencedError>
export const KafkaTransactionTimedOutError = defineRejection(KafkaErrorCodes.TransactionTimedOut, 'KafkaTransactionTimedOutError')
export type KafkaTransactionTimedOutError = InstanceType<typeof KafkaTransactionTimedOutError>
export const KafkaRebalanceError = defineRejection(KafkaErrorCodes.RebalanceInProgress, 'KafkaRebalanceError')
export type KafkaRebalanceError = InstanceType<typeof KafkaRebalanceError>
export const KafkaUnavailableError = defineRejection(KafkaErrorCodes.Unavailable, 'KafkaUnavailableError')
export type KafkaUnavailableError = InstanceType<typeof KafkaUnavailableError>
export const KafkaTimeoutError = defineRejection(KafkaErrorCodes.Timeout, 'KafkaTimeoutError')
export type KafkaTimeoutError = InstanceType<typeof KafkaTimeoutError>
export const KafkaAuthError = defineError(KafkaErrorCodes.Auth, 'KafkaAuthError')
export type KafkaAuthError = InstanceType<typeof KafkaAuthError>
export const KafkaInvalidStateError = defineError(KafkaErrorCodes.InvalidState, 'KafkaInvalidStateError')
export type KafkaInvalidStateError = InstanceType<typeof KafkaInvalidStateError>
export const KafkaDecodeError = defineRejection(KafkaErrorCodes.Decode, 'KafkaDecodeError')
export type KafkaDecodeError = InstanceType<typeof KafkaDecodeError>
export const KafkaInvalidConfigError = defineRejection(KafkaErrorCodes.InvalidConfig, 'KafkaInvalidConfigError')
export type KafkaInvalidConfigError = InstanceType<typeof KafkaInvalidConfigError>
export const KafkaClientMissingError = defineError(KafkaErrorCodes.ClientMissing, 'KafkaClientMissingError')
export type KafkaClientMissingError = InstanceType<typeof KafkaClientMissingError>
export const KafkaProduceFailedError = defineRejection(KafkaErrorCodes.ProduceFailed, 'KafkaProduceFailedError')
export type KafkaProduceFailedError = InstanceType<typeof KafkaProduceFailedError>
export const KafkaClosedError = defineRejection(KafkaErrorCodes.Closed, 'KafkaClosedError')
export type KafkaClosedError = InstanceType<typeof KafkaClosedError>

/** What the bridge does with an error: escalate, abort the transaction and retry, back off and retry. */
export type KafkaErrorKind = 'fatal' | 'abortable' | 'transient'

const FATAL = new Set<string>([KafkaErrorCodes.Fenced, KafkaErrorCodes.Auth, KafkaErrorCodes.InvalidState, KafkaErrorCodes.InvalidConfig, KafkaErrorCodes.ClientMissing])
const ABORTABLE = new Set<string>([KafkaErrorCodes.TransactionTimedOut, KafkaErrorCodes.RebalanceInProgress])

/** Unknown errors count as transient: retried with backoff, and escalated once the retries run out. */
export function kafkaErrorKind(error: unknown): KafkaErrorKind {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return 'transient'
  if (FATAL.has(code)) return 'fatal'
  if (ABORTABLE.has(code)) return 'abortable'
  return 'transient'
}
