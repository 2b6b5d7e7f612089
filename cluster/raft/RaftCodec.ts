import { ByteReader, ByteWriter } from './bytes.ts'
import { decodeConfig, MAX_ID_BYTES, readConfig, writeConfig } from './configCodec.ts'
import { RaftMalformedMessageError } from './errors.ts'
import { MessageKinds, type MessageKind, type RaftMessage } from './messages.ts'
import type { EntryType, LogEntry } from './RaftStorage.ts'

/** Format version (first byte of every message). */
export const RAFT_CODEC_VERSION = 1

export interface RaftCodecLimits {
  /** Most entries one append may carry. Default 65 536. */
  readonly maxEntries?: number
  /** Largest entry or snapshot chunk, in bytes. Default 64 MiB. */
  readonly maxDataBytes?: number
}

const ENTRY_TYPES: readonly EntryType[] = ['command', 'noop', 'config']
const KIND_CODE = new Map<MessageKind, number>(MessageKinds.map((k, i) => [k, i]))

/**
 * The binary form of Raft messages, for any transport (NATS between nodes, the simulated network in
 * tests). Decoding treats the bytes as hostile: every length is checked against what remains before
 * anything is allocated, every field is validated (safe integers, consistent indexes and terms, a
 * valid configuration), and any fault is an ERR_RAFT_MALFORMED_MESSAGE — never a half-read message.
 */
export class RaftCodec {
  private readonly maxEntries: number
  private readonly maxData: number

  constructor(limits: RaftCodecLimits = {}) {
    this.maxEntries = limits.maxEntries ?? 65_536
    this.maxData = limits.maxDataBytes ?? 64 * 1024 * 1024
  }

  encode(m: RaftMessage): Uint8Array {
    const w = new ByteWriter(m.kind === 'append' ? 64 + m.entries.length * 32 : m.kind === 'snapshot' ? 128 + m.data.length : 64)
    w.u8(RAFT_CODEC_VERSION)
    w.u8(KIND_CODE.get(m.kind) as number)
    w.str(m.from)
    w.str(m.to)
    w.uint(m.term)
    switch (m.kind) {
      case 'append':
        w.uint(m.prevIndex)
        w.uint(m.prevTerm)
        w.uint(m.commit)
        w.u32(m.entries.length)
        for (const e of m.entries) {
          w.uint(e.term)
          w.u8(ENTRY_TYPES.indexOf(e.type))
          w.bytes(e.data)
        }
        break
      case 'appendResponse':
        w.u8(m.reject ? 1 : 0)
        w.uint(m.index)
        w.uint(m.hintIndex)
        w.uint(m.hintTerm)
        break
      case 'heartbeat':
        w.uint(m.commit)
        w.uint(m.context)
        break
      case 'heartbeatResponse':
        w.uint(m.context)
        break
      case 'vote':
        w.u8(m.preVote ? 1 : 0)
        w.u8(m.transfer ? 1 : 0)
        w.uint(m.lastIndex)
        w.uint(m.lastTerm)
        break
      case 'voteResponse':
        w.u8(m.preVote ? 1 : 0)
        w.u8(m.granted ? 1 : 0)
        break
      case 'snapshot':
        w.uint(m.index)
        w.uint(m.snapshotTerm)
        writeConfig(w, m.config)
        w.uint(m.offset)
        w.uint(m.total)
        w.bytes(m.data)
        break
      case 'snapshotResponse':
        w.uint(m.index)
        w.uint(m.next)
        break
      case 'timeoutNow':
        break
      case 'readIndex':
        w.uint(m.context)
        break
      case 'readIndexResponse':
        w.uint(m.context)
        w.uint(m.index)
        break
    }
    return w.finish()
  }

  /** The kind of an encoded message without decoding it (for counters); 'malformed' when unreadable. */
  static kindOf(bytes: Uint8Array): MessageKind | 'malformed' {
    return bytes.length >= 2 && bytes[0] === RAFT_CODEC_VERSION ? (MessageKinds[bytes[1] as number] ?? 'malformed') : 'malformed'
  }

  decode(bytes: Uint8Array): RaftMessage {
    const r = new ByteReader(bytes)
    const version = r.u8('version')
    if (version !== RAFT_CODEC_VERSION) throw new RaftMalformedMessageError(`unknown message version ${version}`)
    const code = r.u8('kind')
    const kind = MessageKinds[code]
    if (kind === undefined) throw new RaftMalformedMessageError(`unknown message kind ${code}`)
    const from = r.str('from', MAX_ID_BYTES)
    const to = r.str('to', MAX_ID_BYTES)
    if (from.length === 0 || to.length === 0) throw new RaftMalformedMessageError('empty sender or recipient')
    const term = r.uint('term')
    const m = this.body(r, kind, from, to, term)
    r.end()
    return m
  }

  private body(r: ByteReader, kind: MessageKind, from: string, to: string, term: number): RaftMessage {
    switch (kind) {
      case 'append': {
        const prevIndex = r.uint('prevIndex')
        const prevTerm = r.uint('prevTerm')
        const commit = r.uint('commit')
        if (prevTerm > term) throw new RaftMalformedMessageError(`prevTerm ${prevTerm} is above the message term ${term}`)
        const n = r.u32('entry count')
        if (n > this.maxEntries) throw new RaftMalformedMessageError(`${n} entries, more than ${this.maxEntries}`)
        // Each entry takes at least 13 bytes: refuse a count the remaining bytes cannot hold before allocating.
        if (n * 13 > r.remaining) throw new RaftMalformedMessageError(`${n} entries cannot fit in ${r.remaining} bytes`)
        const entries: LogEntry[] = []
        let lastTerm = prevTerm
        for (let i = 0; i < n; i++) {
          const et = r.uint('entry term')
          if (et < lastTerm || et > term) throw new RaftMalformedMessageError(`entry ${i} has term ${et}, outside [${lastTerm}, ${term}]`)
          lastTerm = et
          const typeCode = r.u8('entry type')
          const type = ENTRY_TYPES[typeCode]
          if (type === undefined) throw new RaftMalformedMessageError(`unknown entry type ${typeCode}`)
          const data = r.bytes('entry data', this.maxData)
          if (type === 'config') decodeConfig(data)
          entries.push({ index: prevIndex + 1 + i, term: et, type, data })
        }
        if (!Number.isSafeInteger(prevIndex + n)) throw new RaftMalformedMessageError('entry indexes overflow')
        return { kind, from, to, term, prevIndex, prevTerm, commit, entries }
      }
      case 'appendResponse': {
        const reject = r.bool('reject')
        const index = r.uint('index')
        const hintIndex = r.uint('hintIndex')
        const hintTerm = r.uint('hintTerm')
        if (hintTerm > term) throw new RaftMalformedMessageError(`hintTerm ${hintTerm} is above the message term ${term}`)
        return { kind, from, to, term, reject, index, hintIndex, hintTerm }
      }
      case 'heartbeat':
        return { kind, from, to, term, commit: r.uint('commit'), context: r.uint('context') }
      case 'heartbeatResponse':
        return { kind, from, to, term, context: r.uint('context') }
      case 'vote': {
        const preVote = r.bool('preVote')
        const transfer = r.bool('transfer')
        const lastIndex = r.uint('lastIndex')
        const lastTerm = r.uint('lastTerm')
        if (lastTerm > term) throw new RaftMalformedMessageError(`lastTerm ${lastTerm} is above the message term ${term}`)
        return { kind, from, to, term, preVote, transfer, lastIndex, lastTerm }
      }
      case 'voteResponse':
        return { kind, from, to, term, preVote: r.bool('preVote'), granted: r.bool('granted') }
      case 'snapshot': {
        const index = r.uint('index')
        const snapshotTerm = r.uint('snapshotTerm')
        if (index === 0 || snapshotTerm === 0 || snapshotTerm > term) throw new RaftMalformedMessageError(`snapshot (${index}, ${snapshotTerm}) is impossible at term ${term}`)
        const config = readConfig(r)
        const offset = r.uint('offset')
        const total = r.uint('total')
        const data = r.bytes('snapshot chunk', this.maxData)
        if (offset + data.length > total) throw new RaftMalformedMessageError(`chunk [${offset}, ${offset + data.length}) runs past the snapshot's ${total} bytes`)
        return { kind, from, to, term, index, snapshotTerm, config, offset, total, data }
      }
      case 'snapshotResponse':
        return { kind, from, to, term, index: r.uint('index'), next: r.uint('next') }
      case 'timeoutNow':
        return { kind, from, to, term }
      case 'readIndex':
        return { kind, from, to, term, context: r.uint('context') }
      case 'readIndexResponse':
        return { kind, from, to, term, context: r.uint('context'), index: r.uint('index') }
    }
  }
}
