/**
 * The slice of `@confluentinc/kafka-javascript` (librdkafka's node binding, node-rdkafka API) the
 * real client uses, typed here so that the package stays an optional, lazily loaded dependency.
 */
export interface NativeError extends Error {
  readonly code: number
  readonly isFatal?: boolean
  readonly isRetriable?: boolean
  readonly isTxnRequiresAbort?: boolean
}

export type NativeCallback<T = void> = (err: NativeError | null | undefined, value: T) => void

export interface NativeTopicPartition {
  topic: string
  partition: number
  offset?: number
}

export interface NativeMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key?: Buffer | string | null
  readonly value: Buffer | null
  readonly timestamp?: number
  readonly headers?: readonly Record<string, Buffer | string>[]
}

export interface NativeClient {
  connect(options: Record<string, unknown>, cb: NativeCallback<unknown>): unknown
  disconnect(cb: NativeCallback<unknown>): unknown
  on(event: string, listener: (...args: any[]) => void): unknown
}

export interface NativeKafkaConsumer extends NativeClient {
  assign(assignments: NativeTopicPartition[]): unknown
  unassign(): unknown
  subscribe(topics: string[]): unknown
  consume(n: number, cb: NativeCallback<NativeMessage[]>): void
  setDefaultConsumeTimeout(ms: number): void
  pause(tps: NativeTopicPartition[]): unknown
  resume(tps: NativeTopicPartition[]): unknown
  seek(tp: NativeTopicPartition, timeout: number, cb: NativeCallback<unknown>): unknown
  commitSync(tps: NativeTopicPartition[]): unknown
  committed(tps: NativeTopicPartition[], timeout: number, cb: NativeCallback<NativeTopicPartition[]>): unknown
  incrementalAssign(tps: NativeTopicPartition[]): unknown
  incrementalUnassign(tps: NativeTopicPartition[]): unknown
  /** Current fetch positions (offset undefined or negative: none yet). */
  position(tps: NativeTopicPartition[]): NativeTopicPartition[]
  /** The watermarks librdkafka last saw in fetch responses (no request). */
  getWatermarkOffsets(topic: string, partition: number): { highOffset: number; lowOffset: number }
}

export interface NativeProducer extends NativeClient {
  produce(topic: string, partition: number | null, value: Buffer | null, key: Buffer | null, timestamp: number | null, opaque: unknown, headers: Record<string, string>[]): unknown
  setPollInterval(ms: number): unknown
  initTransactions(timeout: number, cb: NativeCallback): void
  beginTransaction(cb: NativeCallback): void
  sendOffsetsToTransaction(offsets: NativeTopicPartition[], consumer: NativeKafkaConsumer, timeout: number, cb: NativeCallback): void
  commitTransaction(timeout: number, cb: NativeCallback): void
  abortTransaction(timeout: number, cb: NativeCallback): void
}

export interface ConfluentModule {
  readonly KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => NativeKafkaConsumer
  readonly Producer: new (config: Record<string, unknown>, topicConfig?: Record<string, unknown>) => NativeProducer
  readonly CODES: { readonly ERRORS: Readonly<Record<string, number>> }
  readonly librdkafkaVersion: string
}
