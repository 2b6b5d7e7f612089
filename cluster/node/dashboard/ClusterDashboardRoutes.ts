import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NatsConnection } from '@nats-io/nats-core'
import type { ClusterState } from '../../membership/index.ts'
import { FrameSigner, type ClusterSecret } from '../../../transport/nats/index.ts'
import type { NodeIntrospection } from '../Introspection.ts'
import { askInspect, UNREACHABLE } from '../natsInspectClient.ts'
import { InspectWireCodes, NATS_TREE_MAX_ACTORS, type InspectReply, type InspectRequest } from '../inspectProtocol.ts'
import { allowed, type IntrospectionAccess } from './IntrospectionRoutes.ts'

/** How long the dashboard waits for another member's answer before showing it unreachable. */
export const MEMBER_TIMEOUT_MS = 2000
/** Asks to other members in flight at once, over every open page. */
const MAX_MEMBER_ASKS = 8

export interface ClusterDashboardSources {
  readonly node: string
  readonly cluster: string
  readonly introspection: NodeIntrospection
  /** The node's cluster state, or null (no cluster state, or not started yet). */
  state(): ClusterState | null
  /** The NATS connection other members are asked on, or null (no NATS yet). */
  connection(): NatsConnection | null
  /** Member runs (`node#incarnation`) this node's failure detector suspects now. */
  suspects(): ReadonlySet<string>
  readonly secret?: ClusterSecret
}

/** One member as the dashboard lists it. */
export interface MemberRow {
  readonly node: string
  readonly incarnation: number
  readonly status: string
  readonly roles: readonly string[]
  readonly leader: boolean
  readonly self: boolean
  /** This node's failure detector suspects it (the cluster may not have decided yet). */
  readonly unreachable: boolean
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

/**
 * The dashboard's cluster-wide view: `GET /introspect/cluster` (every member: status, roles,
 * incarnation, leader mark) and `GET /introspect/member/{status,tree,actor}?node=N` (that member's
 * introspection). This node answers for itself; another member is asked over NATS on its
 * introspection subject (the same as `troupe status --node`), within MEMBER_TIMEOUT_MS, so a down
 * or cut-off member shows as unreachable instead of hanging the page. Only members of the cluster
 * state can be asked. Same access rule as /introspect.
 */
export class ClusterDashboardRoutes {
  readonly endpoints = ['/introspect/cluster', '/introspect/member/status?node=', '/introspect/member/tree?node=', '/introspect/member/actor?node=&path='] as const
  private readonly sources: ClusterDashboardSources
  private readonly access: IntrospectionAccess
  private readonly signer: FrameSigner | null
  private asking = 0

  constructor(sources: ClusterDashboardSources, access: IntrospectionAccess) {
    this.sources = sources
    this.access = access
    this.signer = sources.secret === undefined ? null : new FrameSigner(sources.secret)
  }

  close(): void {}

  handle(request: IncomingMessage, response: ServerResponse, path: string, params: URLSearchParams): boolean {
    if (path !== '/introspect/cluster' && !path.startsWith('/introspect/member/')) return false
    const exposure = this.access.dashboard === 'on' || this.access.inspect === 'on' ? 'on' : this.access.dashboard === 'localhost' || this.access.inspect === 'localhost' ? 'localhost' : 'off'
    // Refusals as /introspect's own (IntrospectionRoutes words them): let it answer.
    if (exposure === 'off' || !allowed(exposure, request)) return false
    const state = this.sources.state()
    if (state === null) {
      json(response, 404, { code: 'ERR_NOT_CLUSTER_NODE', error: 'this node runs without cluster state (or has not joined yet)', hint: 'start it with --cluster-state raft|jetstream' })
      return true
    }
    if (path === '/introspect/cluster') {
      json(response, 200, { node: this.sources.node, cluster: this.sources.cluster, members: this.members(state) })
      return true
    }
    const op = path.slice('/introspect/member/'.length)
    const node = params.get('node') ?? ''
    const shardText = params.get('shard')
    const shard = shardText === null || shardText === '' ? undefined : /^\d{1,4}$/.test(shardText) ? Number(shardText) : NaN
    const actorPath = params.get('path') ?? ''
    if ((op !== 'status' && op !== 'tree' && op !== 'actor') || Number.isNaN(shard) || (op === 'actor' && (!actorPath.startsWith('/') || actorPath.length > 1024))) {
      json(response, 400, { code: 'ERR_INVALID_ARGUMENT', error: 'ask /introspect/member/status|tree|actor?node=<member>[&shard=n][&path=/user/…]' })
      return true
    }
    const member = state.members().find((m) => m.node === node)
    if (member === undefined) {
      json(response, 404, { code: 'ERR_CLUSTER_UNKNOWN_MEMBER', error: `no member named '${node}'` })
      return true
    }
    const ask: InspectRequest = op === 'actor' ? { op, path: actorPath, ...(shard === undefined ? {} : { shard }) } : op === 'tree' ? { op, ...(shard === undefined ? {} : { shard }) } : { op }
    void this.answer(node, ask).then((reply) => {
      if (reply.ok) return json(response, 200, reply.body)
      const status = reply.code === InspectWireCodes.NoSuchActor ? 404 : reply.code === UNREACHABLE ? 504 : reply.code === InspectWireCodes.Busy ? 503 : 502
      json(response, status, { code: reply.code, error: reply.error, member: member.status })
    })
    return true
  }

  private members(state: ClusterState): MemberRow[] {
    const leader = state.leader()
    const suspects = this.sources.suspects()
    return state
      .members()
      .map((m) => ({ node: m.node, incarnation: m.incarnation, status: m.status, roles: m.roles, leader: leader !== null && leader.node === m.node && leader.incarnation === m.incarnation, self: m.node === this.sources.node && m.incarnation === state.self.incarnation, unreachable: suspects.has(`${m.node}#${m.incarnation}`) }))
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.incarnation - b.incarnation))
  }

  /** This node answers locally; another is asked over NATS (bounded in time and in number). */
  private async answer(node: string, request: InspectRequest): Promise<InspectReply> {
    const { introspection } = this.sources
    if (node === this.sources.node) {
      if (request.op === 'status') return { ok: true, body: await introspection.status() }
      if (request.op === 'tree') return { ok: true, body: { shards: await introspection.tree(request.shard) } }
      const actors = await introspection.actor(request.path as string, request.shard)
      return actors.length === 0 ? { ok: false, code: InspectWireCodes.NoSuchActor, error: `no live actor at '${request.path as string}'` } : { ok: true, body: { actors } }
    }
    const connection = this.sources.connection()
    if (connection === null) return { ok: false, code: UNREACHABLE, error: 'this node has no NATS connection to ask other members on' }
    if (this.asking >= MAX_MEMBER_ASKS) return { ok: false, code: InspectWireCodes.Busy, error: `more than ${MAX_MEMBER_ASKS} asks to other members at once; retry` }
    this.asking++
    try {
      const tree = request.op === 'tree' ? { max: NATS_TREE_MAX_ACTORS } : {}
      return await askInspect(connection, this.sources.cluster, node, { ...request, ...tree }, { timeoutMs: MEMBER_TIMEOUT_MS, signer: this.signer })
    } finally {
      this.asking--
    }
  }
}
