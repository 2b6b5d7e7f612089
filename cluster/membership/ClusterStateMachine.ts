import { nat, parseVersioned, malformed, str, validateCommand, CLUSTER_COMMAND_VERSION } from './ClusterCommandCodec.ts'
import { ClusterStateErrorCodes } from './errors.ts'
import { downingVerdict, electSingletonHost, type DowningVerdict } from './policies.ts'
import type { ApplyResult, ClusterChange, ClusterCommand, Member, MemberStatus, Placement, RegistryEntry } from './types.ts'

/** Snapshots may be large (every member and name); still bounded so a hostile one cannot exhaust memory. */
export const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024

const LIVE: ReadonlySet<MemberStatus> = new Set(['joining', 'up', 'leaving', 'exiting'])
const enc = new TextEncoder()

/**
 * The cluster state machine: applied from Raft's log, in order, on every member. Pure and
 * deterministic (no clock, no randomness, sorted iteration): the same log gives the same state, which
 * is what makes every member agree on who is up, who holds a name and where a singleton runs.
 */
export class ClusterStateMachine {
  private readonly memberMap = new Map<string, Member>()
  /** Per node, the highest incarnation that was downed or removed: it and older ones never come back. */
  private readonly quarantine = new Map<string, number>()
  private readonly names = new Map<string, RegistryEntry[]>()
  private readonly uniqueKeys = new Set<string>()
  private readonly singletons = new Map<string, string | null>()
  private readonly placementMap = new Map<string, Placement>()
  /** Target node → observers (node names) that currently suspect its current incarnation. */
  private readonly suspicions = new Map<string, Set<string>>()
  private upCounter = 0
  private epochValue = 0
  private appliedIndex = 0
  private term = 0

  /** Bumped on every member status change: a configuration version readers can compare. */
  get epoch(): number {
    return this.epochValue
  }
  get applied(): number {
    return this.appliedIndex
  }

  members(): Member[] {
    return [...this.memberMap.values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
  }
  member(node: string): Member | undefined {
    return this.memberMap.get(node)
  }
  /** True when `incarnation` of `node` was downed or removed (it must restart with a newer one). */
  isQuarantined(node: string, incarnation: number): boolean {
    return incarnation <= (this.quarantine.get(node) ?? 0)
  }
  lookup(key: string): RegistryEntry[] {
    return [...(this.names.get(key) ?? [])]
  }
  keys(): string[] {
    return [...this.names.keys()].sort()
  }
  placement(name: string): Placement | undefined {
    return this.placementMap.get(name)
  }
  placements(): Placement[] {
    return [...this.placementMap.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  }
  suspectedBy(node: string): string[] {
    return [...(this.suspicions.get(node) ?? [])].sort()
  }

  /** Applies one command from the log at (index, term). Refusals are results, not exceptions: every member refuses alike. */
  apply(command: ClusterCommand, index: number, term: number): ApplyResult {
    this.appliedIndex = index
    this.term = term
    const changes: ClusterChange[] = []
    const error = this.step(command, changes)
    if (changes.some((c) => c.type === 'member') || command.type === 'singleton') {
      this.evaluateDowning(changes)
      this.place(changes)
    }
    return { error, changes }
  }

  // ------------------------------------------------------------------ commands

  private step(c: ClusterCommand, out: ClusterChange[]): ApplyResult['error'] {
    switch (c.type) {
      case 'join': {
        if (this.isQuarantined(c.node, c.incarnation)) return refuse('InvalidTransition', `${c.node}#${c.incarnation} is quarantined: restart with a new incarnation`)
        const m = this.memberMap.get(c.node)
        if (m !== undefined && m.incarnation > c.incarnation) return refuse('InvalidTransition', `${c.node}#${c.incarnation} is older than the member ${m.incarnation}`)
        if (m !== undefined && m.incarnation === c.incarnation) return null // a retried join
        // A newer incarnation replaces the old one: the old process is gone (Akka does the same on restart).
        if (m !== undefined && LIVE.has(m.status)) this.setDown(m, out)
        const fresh: Member = { node: c.node, incarnation: c.incarnation, status: 'joining', roles: c.roles, shards: c.shards, httpAddress: c.httpAddress, appVersion: c.appVersion, upNumber: 0 }
        this.setMember(fresh, m !== undefined && m.incarnation === c.incarnation ? m.status : null, out)
        return null
      }
      case 'up':
        return this.transition(c.node, c.incarnation, ['joining'], 'up', out)
      case 'leave':
        return this.transition(c.node, c.incarnation, ['joining', 'up'], 'leaving', out)
      case 'exit':
        return this.transition(c.node, c.incarnation, ['leaving'], 'exiting', out)
      case 'remove': {
        const err = this.transition(c.node, c.incarnation, ['exiting', 'down'], 'removed', out)
        if (err === null) {
          this.quarantine.set(c.node, Math.max(this.quarantine.get(c.node) ?? 0, c.incarnation))
          this.memberMap.delete(c.node)
        }
        return err
      }
      case 'down': {
        const m = this.current(c.node, c.incarnation)
        if (m === undefined) return refuse('UnknownMember', `${c.node}#${c.incarnation} is not a member`)
        if (LIVE.has(m.status)) this.setDown(m, out)
        return null
      }
      case 'suspect': {
        const observer = this.current(c.observer, c.observerIncarnation)
        const target = this.current(c.node, c.incarnation)
        // Reports from dead observers or about replaced incarnations are stale: ignored, like every member ignores them.
        if (observer === undefined || !LIVE.has(observer.status) || target === undefined || !LIVE.has(target.status) || c.observer === c.node) return null
        let set = this.suspicions.get(c.node)
        if (c.suspected) {
          if (set === undefined) this.suspicions.set(c.node, (set = new Set()))
          set.add(c.observer)
        } else set?.delete(c.observer)
        this.evaluateDowning(out)
        this.place(out)
        return null
      }
      case 'register':
        return this.register(c.key, c.ref, c.node, c.incarnation, c.unique, out)
      case 'unregister': {
        this.dropEntries(c.key, (e) => e.ref === c.ref, out)
        return null
      }
      case 'actorDied': {
        for (const key of this.keys()) this.dropEntries(key, (e) => e.ref === c.ref, out)
        return null
      }
      case 'singleton':
        if (!this.singletons.has(c.name)) this.singletons.set(c.name, c.role)
        else if (this.singletons.get(c.name) !== c.role) return refuse('InvalidTransition', `singleton ${c.name} is declared with role ${String(this.singletons.get(c.name))}`)
        return null
    }
  }

  private register(key: string, ref: string, node: string, incarnation: number, unique: boolean, out: ClusterChange[]): ApplyResult['error'] {
    const m = this.current(node, incarnation)
    if (m === undefined || !(m.status === 'joining' || m.status === 'up' || m.status === 'leaving')) return refuse('UnknownMember', `${node}#${incarnation} is not a live member`)
    const list = this.names.get(key) ?? []
    if (list.some((e) => e.ref === ref)) {
      if (unique && list.length > 1) return refuse('NameConflict', `${key} is held by ${list.length} actors`)
      if (unique) this.uniqueKeys.add(key)
      return null
    }
    if (list.length > 0 && (unique || this.uniqueKeys.has(key))) return refuse('NameConflict', `${key} is already registered${this.uniqueKeys.has(key) ? ' uniquely' : ''} by ${list[0]?.ref}`)
    list.push({ key, ref, node, incarnation })
    list.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
    this.names.set(key, list)
    if (unique) this.uniqueKeys.add(key)
    out.push({ type: 'registry', key })
    return null
  }

  private dropEntries(key: string, drop: (e: RegistryEntry) => boolean, out: ClusterChange[]): void {
    const list = this.names.get(key)
    if (list === undefined) return
    const kept = list.filter((e) => !drop(e))
    if (kept.length === list.length) return
    if (kept.length === 0) {
      this.names.delete(key)
      this.uniqueKeys.delete(key)
    } else this.names.set(key, kept)
    out.push({ type: 'registry', key })
  }

  private current(node: string, incarnation: number): Member | undefined {
    const m = this.memberMap.get(node)
    return m !== undefined && m.incarnation === incarnation ? m : undefined
  }

  private transition(node: string, incarnation: number, from: readonly MemberStatus[], to: MemberStatus, out: ClusterChange[]): ApplyResult['error'] {
    const m = this.current(node, incarnation)
    if (m === undefined) return refuse('UnknownMember', `${node}#${incarnation} is not a member`)
    if (m.status === to) return null
    if (!from.includes(m.status)) return refuse('InvalidTransition', `${node}#${incarnation}: ${m.status} → ${to} is not allowed`)
    this.setMember({ ...m, status: to, upNumber: to === 'up' ? ++this.upCounter : m.upNumber }, m.status, out)
    return null
  }

  private setDown(m: Member, out: ClusterChange[]): void {
    this.setMember({ ...m, status: 'down' }, m.status, out)
    this.quarantine.set(m.node, Math.max(this.quarantine.get(m.node) ?? 0, m.incarnation))
    this.suspicions.delete(m.node)
    for (const key of this.keys()) this.dropEntries(key, (e) => e.node === m.node && e.incarnation === m.incarnation, out)
  }

  private setMember(m: Member, previous: MemberStatus | null, out: ClusterChange[]): void {
    this.memberMap.set(m.node, m)
    this.epochValue++
    out.push({ type: 'member', member: m, previous })
  }

  /** Downs every member a majority of the live observers suspects (rule in policies.ts), in name order. */
  private evaluateDowning(out: ClusterChange[]): void {
    for (let changed = true; changed; ) {
      changed = false
      for (const target of this.members()) {
        if (!LIVE.has(target.status)) continue
        const v: DowningVerdict = downingVerdict(this.members(), target.node, this.suspicions.get(target.node) ?? new Set())
        if (v.down) {
          this.setDown(target, out)
          changed = true
        }
      }
    }
  }

  private place(out: ClusterChange[]): void {
    for (const [name, role] of [...this.singletons].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const prev = this.placementMap.get(name)
      const holder = prev?.node === null || prev === undefined ? undefined : this.current(prev.node, prev.incarnation)
      if (holder !== undefined && holder.status === 'up') continue
      const next = electSingletonHost(this.members(), role)
      if (prev !== undefined && prev.node === (next?.node ?? null) && prev.incarnation === (next?.incarnation ?? 0)) continue
      const p: Placement = { name, role, node: next?.node ?? null, incarnation: next?.incarnation ?? 0, version: (prev?.version ?? 0) + 1, term: this.term }
      this.placementMap.set(name, p)
      out.push({ type: 'placement', placement: p })
    }
  }

  // ------------------------------------------------------------------ snapshots

  /** The whole state as bytes (a Raft snapshot). Deterministic: equal states give equal bytes. */
  snapshot(): Uint8Array {
    const body = {
      applied: this.appliedIndex,
      term: this.term,
      epoch: this.epochValue,
      upCounter: this.upCounter,
      // Fixed key order: equal states must give equal bytes whatever built them.
      members: this.members().map((m) => ({ node: m.node, incarnation: m.incarnation, status: m.status, roles: m.roles, shards: m.shards, httpAddress: m.httpAddress, appVersion: m.appVersion, upNumber: m.upNumber })),
      quarantine: [...this.quarantine].sort(),
      names: this.keys().map((k) => ({ key: k, unique: this.uniqueKeys.has(k), entries: this.names.get(k) })),
      singletons: [...this.singletons].sort(),
      placements: this.placements(),
      suspicions: [...this.suspicions].sort().map(([t, s]) => [t, [...s].sort()]),
    }
    const json = enc.encode(JSON.stringify(body))
    const out = new Uint8Array(json.length + 1)
    out[0] = CLUSTER_COMMAND_VERSION
    out.set(json, 1)
    return out
  }

  /** Rebuilds a state machine from snapshot bytes; hostile bytes give ERR_CLUSTER_MALFORMED_COMMAND. */
  static restore(bytes: Uint8Array): ClusterStateMachine {
    const sm = new ClusterStateMachine()
    if (bytes.length === 0) return sm
    const o = parseVersioned(bytes, MAX_SNAPSHOT_BYTES)
    if (typeof o !== 'object' || o === null) return malformed('snapshot is not an object')
    const b = o as Record<string, unknown>
    sm.appliedIndex = nat(b, 'applied')
    sm.term = nat(b, 'term')
    sm.epochValue = nat(b, 'epoch')
    sm.upCounter = nat(b, 'upCounter')
    for (const raw of arr(b['members'])) {
      const info = validateCommand({ ...(raw as object), type: 'join' })
      if (info.type !== 'join') return malformed('member')
      const r = raw as Record<string, unknown>
      const status = r['status']
      if (typeof status !== 'string' || !['joining', 'up', 'leaving', 'exiting', 'down'].includes(status)) return malformed('member status')
      const rest = info
      sm.memberMap.set(info.node, { node: rest.node, incarnation: rest.incarnation, status: status as MemberStatus, roles: rest.roles, shards: rest.shards, httpAddress: rest.httpAddress, appVersion: rest.appVersion, upNumber: nat(r, 'upNumber') })
    }
    for (const q of arr(b['quarantine'])) {
      const [n, i] = pair(q)
      sm.quarantine.set(str({ n }, 'n'), nat({ i }, 'i', 1))
    }
    for (const raw of arr(b['names'])) {
      const r = raw as Record<string, unknown>
      const key = str(r, 'key')
      const entries = arr(r['entries']).map((e) => {
        const c = validateCommand({ ...(e as object), type: 'register', unique: false })
        if (c.type !== 'register' || c.key !== key) return malformed('registry entry')
        return { key, ref: c.ref, node: c.node, incarnation: c.incarnation }
      })
      if (entries.length === 0) return malformed('empty registry key')
      sm.names.set(key, entries)
      if (r['unique'] === true) sm.uniqueKeys.add(key)
    }
    for (const s of arr(b['singletons'])) {
      const [n, role] = pair(s)
      const c = validateCommand({ type: 'singleton', name: n, role })
      if (c.type === 'singleton') sm.singletons.set(c.name, c.role)
    }
    for (const raw of arr(b['placements'])) {
      const r = raw as Record<string, unknown>
      const c = validateCommand({ type: 'singleton', name: r['name'], role: r['role'] })
      if (c.type !== 'singleton') return malformed('placement')
      const node = r['node'] === null ? null : str(r, 'node')
      sm.placementMap.set(c.name, { name: c.name, role: c.role, node, incarnation: nat(r, 'incarnation'), version: nat(r, 'version', 1), term: nat(r, 'term') })
    }
    for (const s of arr(b['suspicions'])) {
      const [t, obs] = pair(s)
      sm.suspicions.set(str({ t }, 't'), new Set(arr(obs).map((x) => str({ x }, 'x'))))
    }
    return sm
  }
}

function arr(v: unknown): unknown[] {
  if (!Array.isArray(v)) return malformed('expected an array')
  return v
}
function pair(v: unknown): [unknown, unknown] {
  if (!Array.isArray(v) || v.length !== 2) return malformed('expected a pair')
  return [v[0], v[1]]
}

function refuse(code: keyof typeof ClusterStateErrorCodes, message: string): ApplyResult['error'] {
  return { code: ClusterStateErrorCodes[code], message }
}
