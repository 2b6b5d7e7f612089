import {
  KafkaAuthError,
  KafkaFencedError,
  KafkaInvalidStateError,
  KafkaRebalanceError,
  KafkaTimeoutError,
  KafkaTransactionTimedOutError,
  KafkaUnavailableError,
} from '../errors.ts'

/** librdkafka error names by class (codes are looked up by name in the module's table). */
const FENCED = ['ERR__FENCED', 'ERR_PRODUCER_FENCED', 'ERR_INVALID_PRODUCER_EPOCH', 'ERR_TRANSACTION_COORDINATOR_FENCED', 'ERR_FENCED_INSTANCE_ID']
const AUTH = ['ERR__AUTHENTICATION', 'ERR_SASL_AUTHENTICATION_FAILED', 'ERR_TOPIC_AUTHORIZATION_FAILED', 'ERR_GROUP_AUTHORIZATION_FAILED', 'ERR_CLUSTER_AUTHORIZATION_FAILED', 'ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED']
const GENERATION = ['ERR_ILLEGAL_GENERATION', 'ERR_UNKNOWN_MEMBER_ID', 'ERR_REBALANCE_IN_PROGRESS', 'ERR__ASSIGNMENT_LOST']
const TIMEOUT = ['ERR__TIMED_OUT', 'ERR_REQUEST_TIMED_OUT', 'ERR__MSG_TIMED_OUT']

/**
 * Maps a librdkafka error to the bridge's typed errors, so the bridge decides by code: fenced and
 * auth escalate, a transaction that must be aborted is abortable, the rest is retried.
 */
export function mapNativeError(error: unknown, codes: Readonly<Record<string, number>>, operation: string): Error {
  if ((error as { code?: unknown } | null)?.code !== undefined && typeof (error as { code: unknown }).code === 'string') return error as Error
  const e = (error ?? {}) as { code?: number; message?: string; isFatal?: boolean; isTxnRequiresAbort?: boolean }
  const code = typeof e.code === 'number' ? e.code : NaN
  const is = (names: readonly string[]): boolean => names.some((n) => codes[n] === code)
  const message = `${operation}: ${e.message ?? String(error)}`
  const data = { operation, nativeCode: Number.isNaN(code) ? null : code }
  const options = { cause: error, data }
  if (is(FENCED)) return new KafkaFencedError(message, options)
  if (is(AUTH)) return new KafkaAuthError(message, options)
  if (e.isTxnRequiresAbort === true) return is(TIMEOUT) ? new KafkaTransactionTimedOutError(message, options) : new KafkaRebalanceError(message, options)
  if (is(GENERATION)) return new KafkaRebalanceError(message, options)
  if (codes['ERR__STATE'] === code) return new KafkaInvalidStateError(message, options)
  if (e.isFatal === true) return new KafkaFencedError(message, options)
  if (is(TIMEOUT)) return new KafkaTimeoutError(message, options)
  return new KafkaUnavailableError(message, options)
}
