import { KafkaDecodeError, KafkaErrorCodes } from './errors.ts'
import type { Headers, KafkaRecord, OutRecord } from './KafkaPort.ts'

/** How the bridge turns a record's value into the message the target gets. */
export type RecordDecoder = 'json' | 'utf8' | 'buffer' | ((value: Buffer | null, record: KafkaRecord) => unknown)

/** What the target's handler receives with the decoded value. */
export interface RecordMeta {
  readonly topic: string
  readonly partition: number
  readonly offset: number
  readonly key: string | null
  readonly headers: Headers
  readonly timestamp: number
}

export function metaOf(record: KafkaRecord): RecordMeta {
  return { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key === null ? null : record.key.toString('utf8'), headers: record.headers, timestamp: record.timestamp }
}

/**
 * Decodes a record's value. Bytes from outside are hostile: the size is checked before any
 * parsing, and every failure (too large, not UTF-8 JSON, a decoder that throws) becomes one typed
 * ERR_KAFKA_DECODE that sends the record to the DLQ; nothing here can crash the bridge.
 */
export function decodeRecord(record: KafkaRecord, decoder: RecordDecoder, maxBytes: number): unknown {
  const value = record.value
  const size = value?.length ?? 0
  const where = { topic: record.topic, partition: record.partition, offset: record.offset }
  if (size > maxBytes) throw new KafkaDecodeError(`record of ${size} bytes exceeds maxRecordBytes ${maxBytes}`, { data: { ...where, reason: 'too-large', size } })
  try {
    if (decoder === 'buffer') return value
    if (decoder === 'utf8') return value === null ? null : new TextDecoder('utf-8', { fatal: true }).decode(value)
    if (decoder === 'json') return value === null ? null : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value))
    return decoder(value, record)
  } catch (error) {
    throw new KafkaDecodeError(`record ${record.topic}/${record.partition}@${record.offset} could not be decoded: ${String((error as Error)?.message ?? error).slice(0, 200)}`, { cause: error, data: { ...where, reason: 'invalid' } })
  }
}

/** The DLQ copy of a failed record: same key and value, the failure and the source in headers. */
export function dlqRecord(dlqTopic: string, record: KafkaRecord, error: unknown): OutRecord {
  const code = (error as { code?: unknown } | null)?.code
  const message = String((error as Error | null)?.message ?? error).slice(0, 512)
  return {
    topic: dlqTopic,
    key: record.key,
    value: record.value,
    headers: {
      ...record.headers,
      'troupe-dlq-code': typeof code === 'string' ? code : 'ERR_UNKNOWN',
      'troupe-dlq-error': message,
      'troupe-dlq-source': `${record.topic}/${record.partition}@${record.offset}`,
    },
  }
}

/** The target's answer as records to produce: a record, an array of them, or nothing. Anything else is refused. */
export function resultRecords(result: unknown): OutRecord[] {
  if (result === undefined || result === null) return []
  const list = Array.isArray(result) ? result : [result]
  for (const r of list) {
    const ok = typeof r === 'object' && r !== null && typeof (r as OutRecord).topic === 'string' && (r as OutRecord).topic.length > 0
      && (typeof (r as OutRecord).value === 'string' || Buffer.isBuffer((r as OutRecord).value) || (r as OutRecord).value === null)
    if (!ok) throw new KafkaDecodeError('the target answered something that is not an output record ({ topic, value })', { data: { reason: 'bad-result' } })
  }
  return list as OutRecord[]
}

export const DECODE_CODE = KafkaErrorCodes.Decode
