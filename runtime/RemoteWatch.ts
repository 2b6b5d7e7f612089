import { formatAddress, type ActorAddress } from './ActorAddress.ts'
import { CellStatus, type ActorCell } from './ActorCell.ts'
import type { ActorRef } from './ActorRef.ts'
import type { RemoteRouter } from './ActorSystemOptions.ts'
import { Envelope, EnvelopeKind } from './Envelope.ts'
import { decodeError, encodeError, type EncodedError } from './errors.ts'
import { ExitReasons, type ExitReason, type Terminated } from './ExitReason.ts'

/** What remote death watch needs from its system. */
export interface WatchHost {
  readonly router: RemoteRouter | null
  refForAddress(address: ActorAddress): ActorRef<any>
  nextMessageId(): number
}

/**
 * Death watch across systems (shards, nodes), Akka's RemoteWatcher in small: one `watch` system
 * message per remote actor and watching system, fanned out here to the local watchers; watches other
 * systems hold on local actors, answered with `terminated`; and everything about a node or shard
 * dropped when it goes down.
 */
export class RemoteWatch {
  private readonly host: WatchHost
  /** Local watchers of remote actors, by the remote actor's formatted address. */
  private readonly watched = new Map<string, { ref: ActorRef<any>; watchers: Set<ActorCell> }>()
  /** Watches other systems hold on local actors: system key -> local cell -> the callback registered on it. */
  private readonly watchedFor = new Map<string, { node: string; shard: number; cells: Map<ActorCell, (t: Terminated) => void> }>()

  constructor(host: WatchHost) {
    this.host = host
  }

  watch(watcher: ActorCell, target: ActorRef<any>): void {
    if (this.host.router === null) {
      // No transport: nothing can be watched beyond this system, so it is as good as gone.
      watcher.postSystem({ type: 'terminated', terminated: { ref: target, reason: ExitReasons.notFound } })
      return
    }
    const key = formatAddress(target.address)
    let entry = this.watched.get(key)
    if (entry === undefined) {
      entry = { ref: target, watchers: new Set() }
      this.watched.set(key, entry)
      // One watch per remote actor and system: the remote side notifies this system, which fans out.
      this.send(target, watcher.ref, 'watch', [])
    }
    entry.watchers.add(watcher)
  }

  unwatch(watcher: ActorCell, target: ActorRef<any>): void {
    const key = formatAddress(target.address)
    const entry = this.watched.get(key)
    if (entry === undefined) return
    entry.watchers.delete(watcher)
    if (entry.watchers.size > 0) return
    this.watched.delete(key)
    if (this.host.router !== null) this.send(target, watcher.ref, 'unwatch', [])
  }

  /** A `System` envelope from another system: watch, unwatch, or terminated. */
  handle(envelope: Envelope): void {
    const from = envelope.sender
    if (from === null) return
    switch (envelope.method) {
      case 'watch': {
        const local = this.host.refForAddress(envelope.target.address)
        const cell = local.cell as ActorCell | null
        if (cell === null || cell.status === CellStatus.Stopped) {
          this.send(from, envelope.target, 'terminated', encodeExitReason(ExitReasons.notFound))
          return
        }
        const systemKey = systemKeyOf(from.address)
        let watched = this.watchedFor.get(systemKey)
        if (watched === undefined) {
          watched = { node: from.address.node, shard: from.address.shard, cells: new Map() }
          this.watchedFor.set(systemKey, watched)
        }
        const cells = watched.cells
        if (cells.has(cell)) return
        const notify = (terminated: Terminated): void => {
          cells.delete(cell)
          this.send(from, terminated.ref, 'terminated', encodeExitReason(terminated.reason))
        }
        cells.set(cell, notify)
        cell.addWatcher(notify)
        return
      }
      case 'unwatch': {
        const cell = envelope.target.cell as ActorCell | null
        const cells = this.watchedFor.get(systemKeyOf(from.address))?.cells
        const notify = cell === null ? undefined : cells?.get(cell)
        if (cell === null || cells === undefined || notify === undefined) return
        cells.delete(cell)
        cell.removeWatcher(notify)
        return
      }
      case 'terminated':
        this.terminated(from, decodeExitReason(envelope.args))
        return
    }
  }

  /** The remote actor `ref` stopped (or is out of reach): its local watchers get Terminated. */
  terminated(ref: ActorRef<any>, reason: ExitReason): void {
    const key = formatAddress(ref.address)
    const entry = this.watched.get(key)
    if (entry === undefined) return
    this.watched.delete(key)
    for (const watcher of entry.watchers) watcher.postSystem({ type: 'terminated', terminated: { ref: entry.ref, reason } })
  }

  /** A node (or one shard of it) is gone: watchers of its actors get Terminated, the watches it held here are dropped. */
  down(node: string, shard: number | null): void {
    const reason = shard === null ? ExitReasons.nodeDown(node) : ExitReasons.shardDown(node, shard)
    for (const entry of [...this.watched.values()]) {
      const address = entry.ref.address
      if (address.node === node && (shard === null || address.shard === shard)) this.terminated(entry.ref, reason)
    }
    for (const [systemKey, watched] of [...this.watchedFor]) {
      if (watched.node !== node || (shard !== null && watched.shard !== shard)) continue
      for (const [cell, notify] of watched.cells) cell.removeWatcher(notify)
      this.watchedFor.delete(systemKey)
    }
  }

  private send(target: ActorRef<any>, sender: ActorRef<any>, method: 'watch' | 'unwatch' | 'terminated', args: unknown[]): void {
    const router = this.host.router
    if (router === null) return
    const envelope = new Envelope(EnvelopeKind.System, target, sender, this.host.nextMessageId(), 0, null, method, args)
    try {
      router.route(envelope)
    } catch {
      // The route is down; the failure detector turns that into node-down for whoever waits.
    }
  }
}

function systemKeyOf(address: ActorAddress): string {
  return `${address.system}@${address.node}:${address.shard}`
}

/** An exit reason as it crosses a boundary: `[kind, error?, node?, shard?]`. */
export function encodeExitReason(reason: ExitReason): unknown[] {
  switch (reason.kind) {
    case 'failure':
      return [reason.kind, encodeError(reason.error)]
    case 'node-down':
      return [reason.kind, null, reason.node]
    case 'shard-down':
      return [reason.kind, null, reason.node, reason.shard]
    default:
      return [reason.kind]
  }
}

export function decodeExitReason(args: readonly unknown[]): ExitReason {
  const [kind, error, node, shard] = args
  switch (kind) {
    case 'normal':
      return ExitReasons.normal
    case 'shutdown':
      return ExitReasons.shutdown
    case 'killed':
      return ExitReasons.killed
    case 'failure':
      return ExitReasons.failure(decodeError(error as EncodedError))
    case 'node-down':
      return ExitReasons.nodeDown(String(node))
    case 'shard-down':
      return ExitReasons.shardDown(String(node), Number(shard))
    default:
      return ExitReasons.notFound
  }
}
