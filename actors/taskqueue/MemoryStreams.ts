/**
 * The Redis data types the task queue's scripts use, in memory, on an injected clock: streams with
 * consumer groups (entry ids `<ms>-<seq>` from the clock, a pending entries list with owner, delivery
 * time and count, so idle time is `now − delivered`), sorted sets, strings with expiry, hashes.
 * Each method is one Redis command with Redis's semantics for what the scripts rely on (XREADGROUP
 * `>`, XACK's count, XPENDING by range and consumer, XCLAIM JUSTID, XAUTOCLAIM's claimed and
 * deleted ids, ZRANGEBYSCORE order by score then member). MemoryTaskRedis runs the scripts over it.
 */

export type Fields = string[]

interface Pending {
  consumer: string
  /** When it was delivered or last claimed (the clock's ms): idle = now − this. */
  delivered: number
  count: number
}

interface Group {
  lastDelivered: readonly [number, number]
  /** Entry id → pending state. Kept in id order (sorted on insert). */
  readonly pel: Map<string, Pending>
}

interface Stream {
  /** Entry id → fields, in id order (ids only grow). */
  readonly entries: Map<string, Fields>
  last: readonly [number, number]
  readonly groups: Map<string, Group>
}

/** A Redis error reply (the store maps any failure to ERR_TASK_QUEUE_UNAVAILABLE). */
export class MemoryReplyError extends Error {
  override readonly name = 'ReplyError'
}

export function parseId(id: string): readonly [number, number] {
  const dash = id.indexOf('-')
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

export function cmpId(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]
}

export class MemoryStreams {
  private readonly now: () => number
  private readonly streams = new Map<string, Stream>()
  private readonly zsets = new Map<string, Map<string, number>>()
  private readonly strings = new Map<string, { value: string; expiresAt: number }>()
  private readonly hashes = new Map<string, Map<string, string>>()

  constructor(clock: { now(): number }) {
    this.now = () => Math.floor(clock.now())
  }

  time(): number {
    return this.now()
  }

  /** Forgets everything (a Redis restarted without persistence). */
  flush(): void {
    this.streams.clear()
    this.zsets.clear()
    this.strings.clear()
    this.hashes.clear()
  }

  private stream(key: string, create: boolean): Stream | undefined {
    let s = this.streams.get(key)
    if (s === undefined && create) {
      s = { entries: new Map(), last: [0, 0], groups: new Map() }
      this.streams.set(key, s)
    }
    return s
  }

  private group(key: string, group: string): Group {
    const g = this.streams.get(key)?.groups.get(group)
    if (g === undefined) throw new MemoryReplyError(`NOGROUP No such key '${key}' or consumer group '${group}'`)
    return g
  }

  xadd(key: string, fields: Fields): string {
    const s = this.stream(key, true) as Stream
    const ms = Math.max(this.now(), s.last[0])
    s.last = ms === s.last[0] ? [ms, s.last[1] + 1] : [ms, 0]
    const id = `${s.last[0]}-${s.last[1]}`
    s.entries.set(id, [...fields])
    return id
  }

  xlen(key: string): number {
    return this.streams.get(key)?.entries.size ?? 0
  }

  /** XDEL: the entries go; pending entries stay in the PEL (XAUTOCLAIM then reports them deleted). */
  xdel(key: string, ids: readonly string[]): number {
    const s = this.streams.get(key)
    let n = 0
    for (const id of ids) if (s?.entries.delete(id) === true) n++
    return n
  }

  /** XRANGE start end COUNT n; `start` may be exclusive (`(id`), '-' and '+' are the ends. */
  xrange(key: string, start: string, end: string, count = Infinity): [string, Fields][] {
    const s = this.streams.get(key)
    if (s === undefined) return []
    const exclusive = start.startsWith('(')
    const lo = start === '-' ? null : parseId(exclusive ? start.slice(1) : start)
    const hi = end === '+' ? null : parseId(end)
    const out: [string, Fields][] = []
    for (const [id, fields] of s.entries) {
      if (out.length >= count) break
      const p = parseId(id)
      if (lo !== null && (exclusive ? cmpId(p, lo) <= 0 : cmpId(p, lo) < 0)) continue
      if (hi !== null && cmpId(p, hi) > 0) break
      out.push([id, [...fields]])
    }
    return out
  }

  /** XGROUP CREATE key group 0 MKSTREAM; false when the group exists (BUSYGROUP). */
  xgroupCreate(key: string, group: string): boolean {
    const s = this.stream(key, true) as Stream
    if (s.groups.has(group)) return false
    s.groups.set(group, { lastDelivered: [0, 0], pel: new Map() })
    return true
  }

  /** XREADGROUP GROUP group consumer COUNT n STREAMS key '>': new entries, now pending for `consumer`. */
  xreadgroup(key: string, group: string, consumer: string, count: number): [string, Fields][] {
    const g = this.group(key, group)
    const s = this.streams.get(key) as Stream
    const out: [string, Fields][] = []
    const now = this.now()
    for (const [id, fields] of s.entries) {
      if (out.length >= count) break
      const p = parseId(id)
      if (cmpId(p, g.lastDelivered) <= 0) continue
      g.lastDelivered = p
      g.pel.set(id, { consumer, delivered: now, count: 1 })
      out.push([id, [...fields]])
    }
    return out
  }

  xack(key: string, group: string, ids: readonly string[]): number {
    const g = this.streams.get(key)?.groups.get(group)
    let n = 0
    for (const id of ids) if (g?.pel.delete(id) === true) n++
    return n
  }

  /** Pending entries in [lo, hi] (ids; '-' / '+'), of `consumer` when given, up to `count`, in id order. */
  xpending(key: string, group: string, lo: string, hi: string, count: number, consumer?: string): { id: string; consumer: string; idle: number; count: number }[] {
    const g = this.group(key, group)
    const a = lo === '-' ? null : parseId(lo)
    const b = hi === '+' ? null : parseId(hi)
    const now = this.now()
    const out: { id: string; consumer: string; idle: number; count: number }[] = []
    for (const id of this.sortedPel(g)) {
      if (out.length >= count) break
      const p = parseId(id)
      if ((a !== null && cmpId(p, a) < 0) || (b !== null && cmpId(p, b) > 0)) continue
      const e = g.pel.get(id) as Pending
      if (consumer !== undefined && e.consumer !== consumer) continue
      out.push({ id, consumer: e.consumer, idle: now - e.delivered, count: e.count })
    }
    return out
  }

  /** XPENDING key group (summary): how many are pending, and the lowest pending id. */
  xpendingSummary(key: string, group: string): { count: number; first: string | null } {
    const g = this.streams.get(key)?.groups.get(group)
    if (g === undefined) throw new MemoryReplyError('NOGROUP')
    const ids = this.sortedPel(g)
    return { count: ids.length, first: ids[0] ?? null }
  }

  lastDelivered(key: string, group: string): string | null {
    const g = this.streams.get(key)?.groups.get(group)
    return g === undefined ? null : `${g.lastDelivered[0]}-${g.lastDelivered[1]}`
  }

  /** XCLAIM key group consumer 0 ids… JUSTID: idle time reset to 0, delivery count untouched. */
  xclaimJustId(key: string, group: string, consumer: string, ids: readonly string[]): string[] {
    const g = this.group(key, group)
    const now = this.now()
    const out: string[] = []
    for (const id of ids) {
      const e = g.pel.get(id)
      if (e === undefined) continue
      e.consumer = consumer
      e.delivered = now
      out.push(id)
    }
    return out
  }

  /** XAUTOCLAIM key group consumer minIdle 0-0 COUNT n: claims idle entries; entries deleted from the stream leave the PEL and are reported. */
  xautoclaim(key: string, group: string, consumer: string, minIdle: number, count: number): { claimed: [string, Fields][]; deleted: string[] } {
    const g = this.group(key, group)
    const s = this.streams.get(key) as Stream
    const now = this.now()
    const claimed: [string, Fields][] = []
    const deleted: string[] = []
    for (const id of this.sortedPel(g)) {
      if (claimed.length + deleted.length >= count) break
      const e = g.pel.get(id) as Pending
      if (now - e.delivered < minIdle) continue
      const fields = s.entries.get(id)
      if (fields === undefined) {
        g.pel.delete(id)
        deleted.push(id)
        continue
      }
      e.consumer = consumer
      e.delivered = now
      e.count++
      claimed.push([id, [...fields]])
    }
    return { claimed, deleted }
  }

  private sortedPel(g: Group): string[] {
    return [...g.pel.keys()].sort((x, y) => cmpId(parseId(x), parseId(y)))
  }

  zadd(key: string, score: number, member: string): void {
    let z = this.zsets.get(key)
    if (z === undefined) this.zsets.set(key, (z = new Map()))
    z.set(member, score)
  }

  zrem(key: string, member: string): void {
    this.zsets.get(key)?.delete(member)
  }

  zcard(key: string): number {
    return this.zsets.get(key)?.size ?? 0
  }

  /** Members with score ≤ max, by score then member (byte order), up to `limit`, with their scores. */
  zrangeByScore(key: string, max: number, limit: number): [string, number][] {
    const z = this.zsets.get(key)
    if (z === undefined) return []
    return [...z].filter(([, score]) => score <= max).sort(byScore).slice(0, limit)
  }

  /** The lowest-scored member, or null. */
  zfirst(key: string): [string, number] | null {
    const z = this.zsets.get(key)
    return z === undefined || z.size === 0 ? null : ([...z].sort(byScore)[0] as [string, number])
  }

  get(key: string): string | null {
    const e = this.strings.get(key)
    if (e === undefined) return null
    if (e.expiresAt <= this.now()) {
      this.strings.delete(key)
      return null
    }
    return e.value
  }

  setNxPx(key: string, value: string, px: number): boolean {
    if (this.get(key) !== null) return false
    this.strings.set(key, { value, expiresAt: this.now() + px })
    return true
  }

  incrby(key: string, by: number): number {
    const n = Number(this.get(key) ?? '0') + by
    this.strings.set(key, { value: String(n), expiresAt: Infinity })
    return n
  }

  hincrby(key: string, field: string, by: number): number {
    let h = this.hashes.get(key)
    if (h === undefined) this.hashes.set(key, (h = new Map()))
    const n = Number(h.get(field) ?? '0') + by
    h.set(field, String(n))
    return n
  }

  hgetall(key: string): string[] {
    return [...(this.hashes.get(key) ?? new Map<string, string>())].flat()
  }
}

function byScore(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return a[1] - b[1]
  return Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0]))
}
