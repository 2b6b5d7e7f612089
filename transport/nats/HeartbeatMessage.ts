/** The heartbeat message (JSON on the wire; see docs/protocol.md, Membership). */
export interface HeartbeatMessage {
  readonly v: 1
  /**
   * `announce`: joined, reconnected or back from a stall; peers answer with a beat (or a
   * `quarantined` notice). `beat`: alive. `leaving`: stopping, takes no new work. `leave`: gone.
   * `shard-down`: one of this node's shards died (the node lives on). `quarantined`: the sender
   * declared `peer` (run `peerIncarnation`) down; that run is never admitted again.
   */
  readonly type: 'announce' | 'beat' | 'leave' | 'leaving' | 'shard-down' | 'quarantined'
  readonly node: string
  readonly incarnation: string
  readonly intervalMs: number
  /** The shard of a `shard-down`. */
  readonly shard?: number
  /** The sender's shards that are down right now (absent: none). Every message carries it, so a peer that missed a notice catches up. */
  readonly down?: readonly number[]
  /** Set on every message of a node that announced `leaving`, so a peer that missed the notice catches up. */
  readonly leaving?: true
  /** An `announce` asking for answers (after a stall): a number the answers echo. */
  readonly sync?: number
  /** A `beat` answering an announce: the announcer's node name (with its `sync`, when it had one). */
  readonly to?: string
  /** The quarantined node and run, in a `quarantined` notice. */
  readonly peer?: string
  readonly peerIncarnation?: string
}

const TYPES: ReadonlySet<unknown> = new Set(['announce', 'beat', 'leave', 'leaving', 'shard-down', 'quarantined'])

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export function encodeHeartbeat(message: HeartbeatMessage): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/** Reads a heartbeat; anything malformed is null (and dropped by the caller). */
export function parseHeartbeat(data: Uint8Array): HeartbeatMessage | null {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(data))
  } catch {
    return null
  }
  if (typeof value !== 'object' || value === null) return null
  const m = value as Record<string, unknown>
  if (m['v'] !== 1 || typeof m['node'] !== 'string' || typeof m['incarnation'] !== 'string' || !TYPES.has(m['type'])) return null
  if (m['type'] === 'shard-down' && !isShard(m['shard'])) return null
  if (m['down'] !== undefined && !(Array.isArray(m['down']) && m['down'].every(isShard))) return null
  if (m['leaving'] !== undefined && m['leaving'] !== true) return null
  if (m['sync'] !== undefined && !Number.isSafeInteger(m['sync'])) return null
  if (m['to'] !== undefined && typeof m['to'] !== 'string') return null
  if (m['type'] === 'quarantined' && (typeof m['peer'] !== 'string' || typeof m['peerIncarnation'] !== 'string')) return null
  return value as HeartbeatMessage
}

function isShard(shard: unknown): boolean {
  return Number.isInteger(shard) && (shard as number) > 0
}
