import { ClusterNoQuorumError, ClusterQuarantinedError, type RegistryEntry } from '../membership/index.ts'
import { InvalidArgumentError, type ActorRef } from '../../runtime/index.ts'
import type { FeatureContext } from './FeatureContext.ts'
import { checkName, refString, resolveEntries, RESERVED_PREFIX, type ServiceKey } from './ServiceKey.ts'
import { isRetriable, sleep, writeWithRetry } from './Writes.ts'

/** Entries that a follower's linearizable read writes and waits for (see `lookup`). */
const BARRIER_PREFIX = `${RESERVED_PREFIX}barrier/`

/**
 * The receptionist (Akka's Receptionist, Erlang's `pg` + `global`) over the ClusterState port.
 * Registration is a replicated write; every member serves lookups from its replica (`lookupCached`,
 * possibly stale) or after a read barrier (`lookup`, linearizable). A registered actor is watched
 * here, on its own node: when it stops, `actorDied` removes every entry of it (retried until the
 * cluster takes it, or the node is downed — the state machine then drops all of the node's entries).
 */
export class Receptionist {
  private readonly f: FeatureContext
  /** Refs this member watches (registered at least once here), so that a second registration does not watch twice. */
  private readonly watched = new Set<string>()
  /** Refs that stopped: a registration that commits after the death is undone. */
  private readonly dead = new Set<string>()
  private barrierSeq = 0
  /** Resolved listings per key, dropped when the key changes in the replica: a cache hit parses no address. */
  private readonly resolved = new Map<string, readonly ActorRef<any>[]>()
  private readonly offChange: () => void

  constructor(context: FeatureContext) {
    this.f = context
    this.offChange = context.state.onChange((c) => {
      if (c.type === 'registry') this.resolved.delete(c.key)
      else if (c.type === 'reset') this.resolved.clear()
    })
  }

  /** @internal Stops following the replica (cluster.stop()). */
  close(): void {
    this.offChange()
    this.resolved.clear()
  }

  /** Adds a local actor under `key` (several actors may share a key). Resolves once the cluster state holds it. */
  register<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    return this.add(key.id, ref, false)
  }

  /** Takes `key` for this actor alone; rejects with ERR_CLUSTER_NAME_CONFLICT when another actor holds it. */
  registerUnique<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    return this.add(key.id, ref, true)
  }

  async unregister<P>(key: ServiceKey<P>, ref: ActorRef<P>): Promise<void> {
    const s = refString(ref)
    await writeWithRetry(this.f.clock, this.f.writeTimeoutMs, this.f.isStopped, () => this.f.state.unregister(key.id, s))
  }

  /** The local replica's listing: no network, possibly behind the leader by the replication lag. */
  lookupCached<P>(key: ServiceKey<P>): ActorRef<P>[] {
    let refs = this.resolved.get(key.id)
    if (refs === undefined) {
      refs = this.resolve<P>(this.f.state.lookupCached(key.id))
      // Only cache while following the replica (a stopped cluster reads through).
      if (!this.f.isStopped()) this.resolved.set(key.id, refs)
    }
    return [...refs] as ActorRef<P>[]
  }

  /**
   * A linearizable listing: it reflects every registration that completed before the call. The
   * backend's own read barrier first; where that refuses (a Raft follower), a barrier write through
   * the leader that this member waits to apply, then the local replica.
   */
  async lookup<P>(key: ServiceKey<P>): Promise<ActorRef<P>[]> {
    try {
      return this.resolve<P>(await this.f.state.lookup(key.id))
    } catch (error) {
      if (!isRetriable(error)) throw error
    }
    return this.resolve<P>(await this.barrierRead(key.id))
  }

  /** Calls `listener` with the listing now and after every change applied on this member; returns the unsubscribe function. */
  subscribe<P>(key: ServiceKey<P>, listener: (refs: readonly ActorRef<P>[]) => void): () => void {
    return this.f.state.subscribe(key.id, (entries) => listener(this.resolve<P>(entries)))
  }

  /** Registers `ref` under an internal (reserved) name: singleton claims and pub-sub topics. */
  async addInternal(id: string, ref: ActorRef<any>, unique: boolean): Promise<void> {
    await this.write(id, ref, unique)
  }

  private async add(id: string, ref: ActorRef<any>, unique: boolean): Promise<void> {
    checkName(id, 'service key')
    if (ref.cell === null) throw new InvalidArgumentError(`register only actors of this node (${this.f.system.node}); ${ref.path} lives elsewhere`)
    await this.write(id, ref, unique)
  }

  private async write(id: string, ref: ActorRef<any>, unique: boolean): Promise<void> {
    const s = refString(ref)
    this.watch(ref, s)
    await writeWithRetry(this.f.clock, this.f.writeTimeoutMs, this.f.isStopped, () => this.f.state.register(id, s, unique))
    // The actor stopped while the registration was in flight: its actorDied may have been applied first.
    if (this.dead.has(s)) this.died(s)
  }

  private watch(ref: ActorRef<any>, s: string): void {
    if (this.watched.has(s)) return
    this.watched.add(s)
    void this.f.system.watch(ref).then(() => {
      this.watched.delete(s)
      this.dead.add(s)
      this.died(s)
    })
  }

  /** Retries `actorDied` until the cluster took it: no entry of a dead actor is left behind while this node lives. */
  private died(s: string): void {
    const attempt = (delay: number): void => {
      if (this.f.isStopped() || this.f.state.quarantined) return
      this.f.state.actorDied(s).then(
        () => {
          // Keep the tombstone a while: a registration still in flight re-checks it.
          this.f.clock.setTimer(this.f.writeTimeoutMs * 2, () => this.dead.delete(s))
        },
        (error: unknown) => {
          if (error instanceof ClusterQuarantinedError) return
          this.f.clock.setTimer(delay, () => attempt(Math.min(delay * 2, 2000)))
        },
      )
    }
    attempt(100)
  }

  private async barrierRead(id: string): Promise<RegistryEntry[]> {
    const self = this.f.state.self
    const key = `${BARRIER_PREFIX}${self.node}#${self.incarnation}`
    const ref = `barrier:${++this.barrierSeq}`
    await writeWithRetry(this.f.clock, this.f.writeTimeoutMs, this.f.isStopped, () => this.f.state.register(key, ref))
    // The leader committed the barrier after every write that completed before this call; once it is applied here, so are they.
    await this.untilApplied(key, ref)
    const entries = this.f.state.lookupCached(id)
    this.f.state.actorDied(ref).catch(() => {
      // Left behind only while there is no quorum; the node's down (or a later barrier cleanup) removes it.
    })
    return entries
  }

  private untilApplied(key: string, ref: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let done = false
      let unsubscribe: (() => void) | null = null
      const finish = (error: Error | null): void => {
        if (done) return
        done = true
        unsubscribe?.()
        if (error === null) resolve()
        else reject(error)
      }
      unsubscribe = this.f.state.subscribe(key, (entries) => {
        if (entries.some((e) => e.ref === ref)) finish(null)
      })
      if (done) unsubscribe()
      void sleep(this.f.clock, this.f.writeTimeoutMs).then(() => finish(new ClusterNoQuorumError(`read barrier not applied on ${this.f.state.self.node} within ${this.f.writeTimeoutMs} ms`)))
    })
  }

  private resolve<P>(entries: readonly RegistryEntry[]): ActorRef<P>[] {
    return resolveEntries<P>(this.f.system, entries, this.f.malformed)
  }
}
