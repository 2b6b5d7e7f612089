import type { NamesAnnouncement } from './protocol.ts'

/** Bounds on what gossip from other gateways may occupy (it is informational: knownNames()). */
const MAX_GATEWAYS = 256
const MAX_NAMES = 4096
const MAX_NAME_LENGTH = 256
const MAX_TTL_MS = 5 * 60_000

/**
 * The public names other gateways say they serve. Gossip is unsigned and open to anyone who may
 * publish on its subject, so every field is checked, the table is bounded (gateways, names per
 * gateway, name length, ttl) and expired entries are pruned on every message.
 */
export class RemoteNames {
  private readonly self: string
  private readonly byGateway = new Map<string, { names: Set<string>; expires: number }>()

  constructor(self: string) {
    this.self = self
  }

  /** Takes one announcement as it arrived (parsed JSON, unchecked) at time `now`. */
  receive(message: unknown, now: number): void {
    const m = message as Partial<NamesAnnouncement> | null
    if (m?.v !== 1 || typeof m.gateway !== 'string' || m.gateway.length > MAX_NAME_LENGTH || m.gateway === this.self || !Array.isArray(m.names)) return
    for (const [gateway, entry] of this.byGateway) if (entry.expires < now) this.byGateway.delete(gateway)
    const ttlMs = typeof m.ttlMs === 'number' ? Math.min(m.ttlMs, MAX_TTL_MS) : 0
    const names = (m.names as unknown[])
      .filter((name): name is string => typeof name === 'string' && name.length > 0 && name.length <= MAX_NAME_LENGTH)
      .slice(0, MAX_NAMES)
    if (names.length === 0 || !(ttlMs > 0)) {
      this.byGateway.delete(m.gateway)
      return
    }
    if (!this.byGateway.has(m.gateway) && this.byGateway.size >= MAX_GATEWAYS) return
    this.byGateway.set(m.gateway, { names: new Set(names), expires: now + ttlMs })
  }

  /** Adds every name still current at `now` to `into`. */
  addTo(into: Set<string>, now: number): void {
    for (const entry of this.byGateway.values()) if (entry.expires >= now) for (const name of entry.names) into.add(name)
  }
}
