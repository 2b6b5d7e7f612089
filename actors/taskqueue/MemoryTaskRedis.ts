import { MemoryReplyError, MemoryStreams, type Fields } from './MemoryStreams.ts'
import type { TaskScriptName, TaskScriptPort } from './TaskScriptPort.ts'

type Args = (string | number)[]
type Task = Record<string, unknown>
const EXTRAS = ['k', 'ff', 'lf', 'lc', 'lm'] as const
const HEADER = /^(\d+):(\d+):(\d+):(\d+)$/

/**
 * The in-memory twin of the task queue's Redis (guide item 22): it answers RedisTaskStore's script
 * calls (`TaskScriptPort`) step for step as the Lua in taskScripts.ts / adminScripts.ts does, each
 * call one atomic step (JavaScript runs it to the end), over MemoryStreams on the clock it is given
 * (Redis `TIME` becomes the simulation's clock: idle times, due dates, entry ids). The conformance
 * test runs the same cases against it and a real Redis.
 *
 * Faults and latency are not its business: wrap it in `SimulatedService` (troupe/testing) and give
 * the service's `client` as the queue's `port`; `down`/`up` make every call fail as a lost
 * connection would.
 */
export class MemoryTaskRedis implements TaskScriptPort {
  /** Script calls answered. */
  calls = 0
  /** The data, for tests that write what a hostile client could (`xadd`, `zadd`). */
  readonly data: MemoryStreams
  private unreachable = false

  constructor(clock: { now(): number }) {
    this.data = new MemoryStreams(clock)
  }

  down(): void {
    this.unreachable = true
  }

  up(): void {
    this.unreachable = false
  }

  runTaskScript(name: TaskScriptName, keys: string[], args: Args): unknown {
    if (this.unreachable) throw Object.assign(new Error('connect ECONNREFUSED (MemoryTaskRedis is down)'), { code: 'ECONNREFUSED' })
    this.calls++
    const a = args.map(String)
    switch (name) {
      case 'enqueue':
        return this.enqueue(keys, a)
      case 'fetch':
        return this.fetch(keys, a)
      case 'settle':
        return this.settle(keys, a, a[0] as string, a[1] as string, a[2] as string, keys[keys.length - 1] as string, 3)
      case 'fail':
        return this.fail(keys, a)
      case 'promote':
        return this.promote(keys, a)
      case 'reclaim':
        return this.reclaim(keys, a)
      case 'replay':
        return this.replay(keys, a)
      case 'stats':
        return this.stats(keys, a)
      case 'ensureGroups':
        for (const key of keys) this.data.xgroupCreate(key, a[0] as string)
        return keys.length
      case 'deadLetters':
        return this.data.xrange(keys[0] as string, '-', '+', Number(a[0]))
      default:
        throw new MemoryReplyError(`ERR unknown task script '${String(name)}'`)
    }
  }

  private enqueue(keys: string[], a: string[]): unknown[] {
    const P = Number(a[0])
    const ttl = Number(a[1])
    const maxDepth = Number(a[2])
    const now = this.data.time()
    const first = 3 + P
    const n = Math.floor((a.length - first) / 6)
    let nextId = this.data.incrby(keys[0] as string, n) - n
    const out: unknown[] = []
    for (let j = first; j < a.length; j += 6) {
      const level = Number(a[j + 2])
      const delay = Number(a[j + 3])
      const ki = Number(a[j + 4])
      const stream = keys[2 + level] as string
      nextId++
      const prev = ki > 0 ? this.data.get(keys[ki - 1] as string) : null
      if (prev !== null) out.push(0, prev)
      else if (maxDepth > 0 && this.data.xlen(stream) + this.data.zcard(keys[1] as string) >= maxDepth) out.push(-1, '')
      else {
        const id = String(nextId)
        if (ki > 0) this.data.setNxPx(keys[ki - 1] as string, id, ttl)
        const t: Task = { v: '1', id, p: a[j], a: '0', m: a[j + 1], t: String(now), pr: a[3 + level] }
        if (ki > 0) t['k'] = a[j + 5]
        if (delay > 0) this.data.zadd(keys[1] as string, now + delay, JSON.stringify(t))
        else this.data.xadd(stream, toflat(t))
        out.push(1, id)
      }
    }
    return out
  }

  /** The prelude's `settle` (see taskScripts.ts): owner-checked acks or renewals from a[from] on. */
  private settle(keys: string[], a: string[], group: string, consumer: string, op: string, stats: string, from: number): unknown[] {
    let settled = 0
    const lost: unknown[] = [0]
    for (let j = from; j < a.length;) {
      const key = keys[Number(a[j])]
      const c = Number(a[j + 1])
      if (key === undefined || key === stats) throw new MemoryReplyError('ERR settle: bad stream index')
      const ids = a.slice(j + 4, j + 4 + c)
      if (op === 'ack' && c <= 4000) {
        const n = this.data.xack(key, group, ids)
        const gone = n < ids.length ? ids.filter((id) => this.data.xrange(key, id, id).length === 0) : []
        this.data.xdel(key, ids)
        lost.push(...gone)
        settled += ids.length - gone.length
      } else {
        const mine = new Set(this.data.xpending(key, group, a[j + 2] as string, a[j + 3] as string, c + 10_000, consumer).map((e) => e.id))
        const owned = ids.filter((id) => mine.has(id))
        for (const id of ids) if (!mine.has(id)) lost.push(id)
        if (op === 'ack') {
          this.data.xack(key, group, owned)
          this.data.xdel(key, owned)
        } else this.data.xclaimJustId(key, group, consumer, owned)
        settled += owned.length
      }
      j += 4 + c
    }
    if (op === 'ack' && settled > 0) this.data.hincrby(stats, 'completed', settled)
    lost[0] = settled
    return lost
  }

  private fetch(keys: string[], a: string[]): unknown[] {
    const [group, consumer] = a as [string, string]
    const cap = Number(a[2])
    const n = keys.length - 1
    const acked = this.settle(keys, a, group, consumer, 'ack', keys[n] as string, 3 + n)
    let budget = 0
    for (let i = 0; i < n; i++) budget += Number(a[3 + i])
    if (cap > 0) {
      let pending = 0
      for (let i = 0; i < n; i++) {
        try {
          pending += this.data.xpendingSummary(keys[i] as string, group).count
        } catch {
          // no group yet: nothing pending there
        }
      }
      budget = Math.min(budget, cap - pending)
    }
    const short: number[] = []
    const out: unknown[] = [short, acked]
    const read = (i: number, count: number): number => {
      const key = keys[i] as string
      let entries: [string, Fields][]
      try {
        entries = this.data.xreadgroup(key, group, consumer, count)
      } catch {
        this.data.xgroupCreate(key, group)
        entries = this.data.xreadgroup(key, group, consumer, count)
      }
      // As XREADGROUP inside the Lua: nothing new is nil there, and no pair is added.
      if (entries.length > 0) out.push(i, entries)
      return entries.length
    }
    let spare = 0
    for (let i = 0; i < n; i++) {
      short[i] = 0
      const q = Math.min(Number(a[3 + i]), budget)
      if (q > 0) {
        const got = read(i, q)
        budget -= got
        if (got < q) {
          short[i] = 1
          spare += q - got
        }
      }
    }
    spare = Math.min(spare, budget)
    for (let i = 0; i < n && spare > 0; i++) {
      if (short[i] !== 0) continue
      const got = read(i, spare)
      spare -= got
      if (got === 0) short[i] = 1
    }
    return out
  }

  private fail(keys: string[], a: string[]): number {
    const [stream, delayed, dlq, stats] = keys as [string, string, string, string]
    const [group, consumer, id, mode] = a as [string, string, string, string]
    const now = this.data.time()
    if (this.data.xpending(stream, group, id, id, 1, consumer).length !== 1) return 0
    const t = totable(a.slice(5))
    if (mode === 'retry') {
      if (t['ff'] === undefined) t['ff'] = String(now)
      t['lf'] = String(now)
      this.data.zadd(delayed, now + Number(a[4]), JSON.stringify(t))
      this.data.hincrby(stats, 'retries', 1)
    } else {
      if (t['first'] === undefined || t['first'] === '') t['first'] = String(now)
      t['last'] = String(now)
      this.dead(dlq, t)
      this.data.hincrby(stats, 'dead', 1)
    }
    this.data.xack(stream, group, [id])
    this.data.xdel(stream, [id])
    return 1
  }

  private promote(keys: string[], a: string[]): number[] {
    const [delayedKey, dlq, stats] = keys as [string, string, string]
    const now = this.data.time()
    const streams = new Map<string, string>()
    for (let i = 1; i < a.length; i++) streams.set(a[i] as string, keys[2 + i] as string)
    let moved = 0
    let bad = 0
    for (const [m] of this.data.zrangeByScore(delayedKey, now, Number(a[0]))) {
      let t: unknown = null
      try {
        t = JSON.parse(m)
      } catch {
        // malformed: below
      }
      const r = t as Task | null
      const key = r !== null && typeof r === 'object' && r['v'] === '1' && typeof r['id'] === 'string' && typeof r['p'] === 'string' && typeof r['pr'] === 'string' ? streams.get(r['pr']) : undefined
      if (key !== undefined) {
        this.data.xadd(key, toflat(r as Task))
        moved++
      } else {
        this.dead(dlq, { code: 'ERR_TASK_MALFORMED', message: 'a delayed record that does not decode or names no known priority', raw: m.slice(0, 1024), first: now, last: now, attempts: 0 })
        this.data.hincrby(stats, 'malformed', 1)
        bad++
      }
      this.data.zrem(delayedKey, m)
    }
    const next = this.data.zfirst(delayedKey)
    return [moved, bad, next === null ? -1 : Math.max(0, Math.floor(next[1] - now))]
  }

  private reclaim(keys: string[], a: string[]): number[] {
    const [dlq, stats] = keys as [string, string]
    const [group, claimer] = a as [string, string]
    const vt = Number(a[2])
    const count = Number(a[3])
    const now = this.data.time()
    let requeued = 0
    let deadN = 0
    let lost = 0
    for (let i = 2; i < keys.length; i++) {
      const key = keys[i] as string
      let r: ReturnType<MemoryStreams['xautoclaim']>
      try {
        r = this.data.xautoclaim(key, group, claimer, vt, count)
      } catch {
        continue
      }
      for (const [entryId, fields] of r.claimed) {
        const t = totask(fields, a[2 + i] as string)
        const att = t === null ? NaN : Number(t['a'])
        const max = t === null ? NaN : Number(t['m'])
        if (t === null || Number.isNaN(att) || Number.isNaN(max)) {
          this.dead(dlq, { code: 'ERR_TASK_MALFORMED', message: 'a pending entry that does not decode', raw: JSON.stringify(fields).slice(0, 1024), src: entryId, first: now, last: now, attempts: 0 })
          this.data.hincrby(stats, 'malformed', 1)
          deadN++
        } else {
          t['a'] = String(att + 1)
          t['lc'] = 'ERR_TASK_VISIBILITY_TIMEOUT'
          t['lm'] = 'not settled within the visibility timeout (consumer lost or stalled)'
          if (t['ff'] === undefined) t['ff'] = String(now)
          t['lf'] = String(now)
          if (att + 1 >= max) {
            this.dead(dlq, { id: t['id'], pr: t['pr'] ?? '', p: t['p'], m: t['m'], k: t['k'] ?? '', code: t['lc'], message: t['lm'], attempts: att + 1, first: t['ff'], last: now, src: entryId })
            this.data.hincrby(stats, 'dead', 1)
            deadN++
          } else {
            this.data.xadd(key, toflat(t))
            requeued++
          }
        }
        this.data.xack(key, group, [entryId])
        this.data.xdel(key, [entryId])
      }
      for (const id of r.deleted) {
        this.dead(dlq, { code: 'ERR_TASK_MALFORMED', message: 'entry deleted from the stream while pending', src: id, first: now, last: now, attempts: 0 })
        this.data.hincrby(stats, 'malformed', 1)
        lost++
      }
    }
    if (requeued > 0) this.data.hincrby(stats, 'reclaimed', requeued)
    return [requeued, deadN, lost]
  }

  private replay(keys: string[], a: string[]): number[] {
    const dlq = keys[0] as string
    const now = this.data.time()
    const streams = new Map<string, string>()
    const ids: string[] = []
    let sep = false
    for (let i = 1; i < a.length; i++) {
      if (a[i] === '--') sep = true
      else if (sep) ids.push(a[i] as string)
      else streams.set(a[i] as string, keys[i] as string)
    }
    const entries = ids.length > 0 ? ids.flatMap((id) => this.data.xrange(dlq, id, id)) : this.data.xrange(dlq, '-', '+', Number(a[0]))
    let replayed = 0
    let skipped = 0
    for (const [entryId, fields] of entries) {
      const r = totable(fields)
      const key = typeof r['pr'] === 'string' ? streams.get(r['pr']) : undefined
      if (key !== undefined && typeof r['id'] === 'string' && r['id'] !== '' && r['p'] !== undefined && r['m'] !== undefined && Number.isFinite(Number(r['m'])) && r['m'] !== '') {
        const t: Task = { v: '1', id: r['id'], p: r['p'], a: '0', m: r['m'], t: String(now), pr: r['pr'] }
        if (r['k'] !== undefined && r['k'] !== '') t['k'] = r['k']
        this.data.xadd(key, toflat(t))
        this.data.xdel(dlq, [entryId])
        replayed++
      } else skipped++
    }
    return [replayed, skipped]
  }

  private stats(keys: string[], a: string[]): unknown[] {
    const [delayed, dlq, statsKey] = keys as [string, string, string]
    const group = a[0] as string
    const idms = (id: string): number => Number(id.slice(0, id.indexOf('-')))
    const per: number[][] = []
    for (let i = 3; i < keys.length; i++) {
      const key = keys[i] as string
      const len = this.data.xlen(key)
      let pending = 0
      let oldestPending = -1
      let oldestWaiting = -1
      const last = this.data.lastDelivered(key, group)
      if (last !== null) {
        const s = this.data.xpendingSummary(key, group)
        pending = s.count
        if (s.first !== null) {
          const first = this.data.xrange(key, s.first, '+', 1)[0]
          if (first !== undefined) oldestPending = idms(first[0])
        }
        const w = this.data.xrange(key, `(${last}`, '+', 1)[0]
        if (w !== undefined) oldestWaiting = idms(w[0])
      } else if (len > 0) oldestWaiting = idms((this.data.xrange(key, '-', '+', 1)[0] as [string, Fields])[0])
      per.push([len - pending, pending, oldestWaiting, oldestPending])
    }
    return [this.data.time(), this.data.zcard(delayed), this.data.xlen(dlq), this.data.hgetall(statsKey), per]
  }

  /** A DLQ record: every field as a string, as the Lua's `dead` writes it. */
  private dead(dlq: string, rec: Record<string, unknown>): void {
    const flat: string[] = []
    for (const [k, v] of Object.entries(rec)) if (v !== undefined) flat.push(k, String(v))
    this.data.xadd(dlq, flat)
  }
}

function totable(flat: readonly string[]): Task {
  const t: Task = {}
  for (let i = 0; i + 1 < flat.length; i += 2) t[flat[i] as string] = flat[i + 1]
  return t
}

/** The prelude's `totask`: a stream entry as a task record (named fields), or null. */
function totask(flat: readonly string[], pr: string): Task | null {
  if (flat[0] !== 'h' || flat[2] !== 'p' || flat[1] === undefined || flat[3] === undefined) return null
  const m = HEADER.exec(flat[1])
  if (m === null) return null
  const t: Task = { v: '1', id: m[1], a: m[2], m: m[3], t: m[4], p: flat[3], pr }
  for (let i = 4; i + 1 < flat.length; i += 2) if ((EXTRAS as readonly string[]).includes(flat[i] as string)) t[flat[i] as string] = flat[i + 1]
  return t
}

/** The prelude's `toflat`: a task record as stream entry fields. */
function toflat(t: Task): string[] {
  const out = ['h', `${str(t['id'])}:${str(t['a'])}:${str(t['m'])}:${str(t['t'])}`, 'p', str(t['p'])]
  for (const f of EXTRAS) if (t[f] !== undefined && t[f] !== null) out.push(f, str(t[f]))
  return out
}

/** Lua's tostring for what JSON can hold (nil for a missing field, as the Lua writes it). */
function str(v: unknown): string {
  if (v === undefined || v === null) return 'nil'
  return typeof v === 'string' ? v : typeof v === 'object' ? 'table' : String(v)
}
