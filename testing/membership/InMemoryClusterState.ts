import { ClusterInvalidTransitionError, ClusterNameConflictError, ClusterQuarantinedError, ClusterStateMachine, ClusterStoppedError, ClusterUnknownMemberError, type ApplyResult, type ClusterChange, type ClusterCommand, type ClusterState, type Member, type MemberInfo, type Placement, type RegistryEntry } from '../../cluster/membership/index.ts'

type ChangeListener = (change: ClusterChange | { readonly type: 'reset' }) => void

const ERRORS: Record<string, new (m: string) => Error> = {
  ERR_CLUSTER_NAME_CONFLICT: ClusterNameConflictError,
  ERR_CLUSTER_UNKNOWN_MEMBER: ClusterUnknownMemberError,
  ERR_CLUSTER_QUARANTINED: ClusterQuarantinedError,
}

/**
 * The cluster state in one process, without consensus: one ClusterStateMachine that every member
 * view applies to at once (a loopback twin of the ClusterState port, for unit tests of what stands
 * on it). `member(node)` gives a member's `ClusterState`; `join` plus `up` make it up.
 */
export class InMemoryClusterState {
  readonly machine = new ClusterStateMachine()
  private index = 0
  private readonly changeListeners = new Set<ChangeListener>()
  private readonly keyListeners = new Map<string, Set<(entries: readonly RegistryEntry[]) => void>>()

  /** A member's view, joined and up. */
  async member(node: string, incarnation = 1, roles: readonly string[] = []): Promise<ClusterState> {
    const view = this.view(node, incarnation)
    await view.join({ roles, shards: 1, httpAddress: '', appVersion: '1' })
    await view.up(node, incarnation)
    return view
  }

  /** Applies `command` as the next log entry. */
  apply(command: ClusterCommand): ApplyResult {
    const result = this.machine.apply(command, ++this.index, 1)
    for (const c of result.changes) if (c.type === 'registry') this.notify(c.key)
    for (const c of result.changes) for (const l of this.changeListeners) l(c)
    return result
  }

  view(node: string, incarnation: number): ClusterState {
    let stopped = false
    const write = (command: ClusterCommand): Promise<ApplyResult> => {
      if (stopped) return Promise.reject(new ClusterStoppedError('stopped'))
      if (this.machine.isQuarantined(node, incarnation)) return Promise.reject(new ClusterQuarantinedError(`${node}#${incarnation} was downed`))
      const r = this.apply(command)
      if (r.error !== null) return Promise.reject(new (ERRORS[r.error.code] ?? ClusterInvalidTransitionError)(r.error.message))
      return Promise.resolve(r)
    }
    const sm = this.machine
    const mine = new Set<() => void>()
    return {
      self: { node, incarnation },
      get quarantined() {
        return sm.isQuarantined(node, incarnation)
      },
      join: (info: Omit<MemberInfo, 'node' | 'incarnation'>) => write({ type: 'join', node, incarnation, ...info }),
      up: (n, i) => write({ type: 'up', node: n, incarnation: i }),
      leave: (n, i) => write({ type: 'leave', node: n, incarnation: i }),
      down: (n, i, reason) => write({ type: 'down', node: n, incarnation: i, reason }),
      reportSuspicion: (n, i, suspected) => write({ type: 'suspect', observer: node, observerIncarnation: incarnation, node: n, incarnation: i, suspected }),
      register: (key, ref, unique = false) => write({ type: 'register', key, ref, node, incarnation, unique }),
      registerUnique: (key, ref) => write({ type: 'register', key, ref, node, incarnation, unique: true }),
      unregister: (key, ref) => write({ type: 'unregister', key, ref }),
      actorDied: (ref) => write({ type: 'actorDied', ref }),
      declareSingleton: (name, role = null) => write({ type: 'singleton', name, role }),
      write,
      lookupCached: (key) => sm.lookup(key),
      lookup: (key) => Promise.resolve(sm.lookup(key)),
      members: (): Member[] => sm.members(),
      placement: (name): Placement | undefined => sm.placement(name),
      placements: () => sm.placements(),
      subscribe: (key, listener) => {
        let set = this.keyListeners.get(key)
        if (set === undefined) this.keyListeners.set(key, (set = new Set()))
        set.add(listener)
        listener(sm.lookup(key))
        const off = (): void => void set.delete(listener)
        mine.add(off)
        return off
      },
      onChange: (listener) => {
        this.changeListeners.add(listener)
        const off = (): void => void this.changeListeners.delete(listener)
        mine.add(off)
        return off
      },
      leader: () => null,
      position: () => ({ epoch: sm.epoch, appliedIndex: sm.applied, term: 1 }),
      stop() {
        stopped = true
        for (const off of mine) off()
      },
    }
  }

  private notify(key: string): void {
    const set = this.keyListeners.get(key)
    if (set === undefined) return
    const listing = this.machine.lookup(key)
    for (const l of set) l(listing)
  }
}
