import { formatAddress, parseAddress, type ActorRef, type ActorSystem } from '../../runtime/index.ts'
import type { RegistryEntry } from '../membership/index.ts'
import { ClusterInvalidKeyError } from './errors.ts'

/**
 * A typed name in the cluster registry (Akka's `ServiceKey[T]`): the protocol `P` travels with the
 * key, so `lookup(key)` gives `ActorRef<P>[]` without casts. Two keys with the same id are the same name.
 */
export interface ServiceKey<P> {
  readonly id: string
  /** Phantom: carries the protocol type; never set at run time. */
  readonly __protocol?: P
}

/** Names under this prefix belong to the features themselves (singleton claims, pub-sub topics, read barriers). */
export const RESERVED_PREFIX = 'troupe.'
/** Leaves room for the reserved prefixes inside the cluster command's field limit (512 chars). */
export const MAX_KEY_CHARS = 400

export function serviceKey<P>(id: string): ServiceKey<P> {
  checkName(id, 'service key')
  return { id }
}

/** Throws ERR_CLUSTER_INVALID_KEY for a name users may not take. */
export function checkName(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_KEY_CHARS) throw new ClusterInvalidKeyError(`${what} must be 1..${MAX_KEY_CHARS} characters`)
  if (id.startsWith(RESERVED_PREFIX)) throw new ClusterInvalidKeyError(`${what} '${id}' uses the reserved prefix '${RESERVED_PREFIX}'`)
}

/** How an actor ref is written in the registry: its full address (system, node, shard, path, uid). */
export function refString(ref: ActorRef<any>): string {
  return formatAddress(ref.address)
}

/**
 * Registry entries as refs of this system. Entries whose ref does not parse (a hostile or corrupt
 * backend) are skipped and reported through `onMalformed`, never thrown at the reader.
 */
export function resolveEntries<P>(system: ActorSystem, entries: readonly RegistryEntry[], onMalformed: (ref: string) => void): ActorRef<P>[] {
  const out: ActorRef<P>[] = []
  for (const e of entries) {
    const address = parseAddress(e.ref)
    if (address === null) onMalformed(e.ref)
    else out.push(system.refFor<P>(address))
  }
  return out
}
