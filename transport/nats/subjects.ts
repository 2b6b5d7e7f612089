import { InvalidArgumentError } from '../../runtime/index.ts'

/** Default first token of every Troupe subject. */
export const DEFAULT_SUBJECT_PREFIX = 'troupe'

/** A NATS subject token: no dots, wildcards or whitespace (the server would split or match on them). */
const TOKEN = /^[^.*>\s]+$/

/** Throws InvalidArgumentError unless `value` can be one subject token. */
export function checkToken(value: string, what: string): string {
  if (!TOKEN.test(value)) throw new InvalidArgumentError(`${what} '${value}' cannot be a NATS subject token: no '.', '*', '>' or whitespace`)
  return value
}

/**
 * The subject scheme of one cluster (see docs/protocol.md). Every subject starts with
 * `<prefix>.<cluster>`, so clusters (and tests) sharing a NATS server never see each other's traffic.
 *
 * - `<prefix>.<cluster>.sys.<node>.<shard>` frames for one shard of one node (Remoting batches)
 * - `<prefix>.<cluster>.ack.<node>.<shard>` acknowledgements and credit for frames that shard sent
 * - `<prefix>.<cluster>.hb`                 membership heartbeats (JSON)
 * - `<prefix>.<cluster>.call.<publicName>`  external calls through a gateway
 * - `<prefix>.<cluster>.gw.names`           gateways' published-name gossip (JSON)
 */
export class Subjects {
  readonly prefix: string
  readonly cluster: string
  /** `<prefix>.<cluster>` */
  readonly root: string
  readonly heartbeat: string
  readonly gatewayNames: string
  /** Frame subjects by node then shard, so a send builds no string. */
  private readonly frameCache = new Map<string, string[]>()
  private readonly ackCache = new Map<string, string[]>()

  constructor(cluster: string, prefix: string = DEFAULT_SUBJECT_PREFIX) {
    this.prefix = checkToken(prefix, 'subject prefix')
    this.cluster = checkToken(cluster, 'cluster name')
    this.root = `${prefix}.${cluster}`
    this.heartbeat = `${this.root}.hb`
    this.gatewayNames = `${this.root}.gw.names`
  }

  /** Where frames for `shard` of `node` go. */
  frames(node: string, shard: number): string {
    return this.cached(this.frameCache, 'sys', node, shard)
  }

  /** Where acknowledgements and credit for frames sent by `shard` of `node` go. */
  acks(node: string, shard: number): string {
    return this.cached(this.ackCache, 'ack', node, shard)
  }

  private cached(cache: Map<string, string[]>, kind: string, node: string, shard: number): string {
    let byShard = cache.get(node)
    if (byShard === undefined) {
      checkToken(node, 'node name')
      byShard = []
      cache.set(node, byShard)
    }
    let subject = byShard[shard]
    if (subject === undefined) {
      if (!Number.isInteger(shard) || shard < 0) throw new InvalidArgumentError(`shard must be a non-negative integer, got ${shard}`)
      subject = `${this.root}.${kind}.${node}.${shard}`
      byShard[shard] = subject
    }
    return subject
  }

  /** Calls to a published name (a public name may have several dot-separated tokens). */
  call(publicName: string): string {
    return `${this.root}.call.${checkPublicName(publicName)}`
  }

  /** Every call subject of the cluster (a gateway's catch-all for unknown names). */
  get allCalls(): string {
    return `${this.root}.call.>`
  }

  /** The public name a call subject addresses, or null when the subject is not a call. */
  publicNameOf(subject: string): string | null {
    const head = `${this.root}.call.`
    return subject.startsWith(head) && subject.length > head.length ? subject.slice(head.length) : null
  }
}

/** Public names: one or more subject tokens joined by dots (`bank`, `shop.carts`). */
export function checkPublicName(name: string): string {
  if (name.length === 0 || name.split('.').some((token) => !TOKEN.test(token))) {
    throw new InvalidArgumentError(`public name '${name}' must be dot-separated tokens without '*', '>' or whitespace`)
  }
  return name
}
