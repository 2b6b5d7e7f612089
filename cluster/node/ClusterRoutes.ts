import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SingletonStatus } from '../features/index.ts'
import type { Member, Placement } from '../membership/index.ts'
import { raftId } from '../membership/index.ts'
import { allowed } from './dashboard/IntrospectionRoutes.ts'
import type { NodeCluster } from './NodeCluster.ts'
import type { Exposure } from './settings.ts'

/** Stable codes of the `/cluster` API's refusals (the `troupe cluster` CLI reads them). */
export const ClusterApiCodes = {
  NotClusterNode: 'ERR_NOT_CLUSTER_NODE',
  UnknownMember: 'ERR_CLUSTER_UNKNOWN_MEMBER',
  Off: 'ERR_CLUSTER_API_OFF',
  Forbidden: 'ERR_CLUSTER_API_FORBIDDEN',
} as const

/** What `/cluster` answers: one member's view of the replicated cluster state. */
export interface ClusterView {
  readonly cluster: string
  readonly self: { readonly node: string; readonly incarnation: number; readonly quarantined: boolean }
  readonly leader: { readonly node: string; readonly incarnation: number } | null
  readonly epoch: number
  readonly appliedIndex: number
  readonly term: number
  readonly raft: { readonly role: string; readonly voters: readonly string[]; readonly learners: readonly string[] } | null
  readonly members: readonly (Member & { readonly voter: boolean })[]
  readonly singletons: readonly Placement[]
  /** Null on the JetStream backend (it does not list keys). */
  readonly registryKeys: number | null
  /** The singletons declared on this member: whether its manager runs the instance here, and with which fencing token. */
  readonly singletonsHere: readonly Readonly<SingletonStatus>[]
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
  response.end(JSON.stringify(body))
}

/**
 * `GET /cluster` (the view above), `POST /cluster/leave?node=N` and `POST /cluster/down?node=N`
 * (the member's current incarnation leaves, or is downed by the operator), behind `clusterApi`
 * (default: loopback clients only). A node without cluster state answers 404 ERR_NOT_CLUSTER_NODE.
 */
export class ClusterRoutes {
  readonly endpoints = ['/cluster', '/cluster/leave?node=', '/cluster/down?node='] as const
  readonly ownMethods = true
  private readonly cluster: () => NodeCluster | null
  private readonly config: { readonly cluster: string; readonly clusterApi: Exposure }

  constructor(cluster: () => NodeCluster | null, config: { readonly cluster: string; readonly clusterApi: Exposure }) {
    this.cluster = cluster
    this.config = config
  }

  close(): void {}

  handle(request: IncomingMessage, response: ServerResponse, path: string, params: URLSearchParams): boolean {
    if (path !== '/cluster' && path !== '/cluster/leave' && path !== '/cluster/down') return false
    if (this.config.clusterApi === 'off') {
      json(response, 404, { code: ClusterApiCodes.Off, error: 'the cluster API is off', hint: 'start the node with --cluster-api localhost (or TROUPE_CLUSTER_API=localhost)' })
      return true
    }
    if (!allowed(this.config.clusterApi, request)) {
      json(response, 403, { code: ClusterApiCodes.Forbidden, error: 'the cluster API answers loopback clients only', hint: 'run troupe cluster on the node’s host, or start it with --cluster-api on' })
      return true
    }
    const cluster = this.cluster()
    const state = cluster?.state ?? null
    if (cluster === null || state === null) {
      json(response, 404, { code: ClusterApiCodes.NotClusterNode, error: 'this node runs without cluster state', hint: 'start it with --cluster-state raft' })
      return true
    }
    const method = request.method ?? 'GET'
    if (path === '/cluster') {
      if (method !== 'GET' && method !== 'HEAD') json(response, 405, { error: 'method not allowed' })
      else json(response, 200, this.view(cluster))
      return true
    }
    if (method !== 'POST') {
      json(response, 405, { error: `${path} takes POST` })
      return true
    }
    const node = params.get('node') ?? ''
    const member = state.members().find((m) => m.node === node && m.status !== 'removed' && m.status !== 'down')
    if (member === undefined) {
      json(response, 404, { code: ClusterApiCodes.UnknownMember, error: `no live member named '${node}'`, members: state.members().map((m) => `${m.node} (${m.status})`) })
      return true
    }
    const write = path === '/cluster/leave' ? state.leave(member.node, member.incarnation) : state.down(member.node, member.incarnation, 'downed by an operator')
    write.then(
      () => json(response, 200, { ok: true, node: member.node, incarnation: member.incarnation, action: path.slice('/cluster/'.length) }),
      (error: unknown) => json(response, 503, { code: (error as { code?: string }).code ?? 'ERR_CLUSTER', error: (error as Error).message }),
    )
    return true
  }

  private view(cluster: NodeCluster): ClusterView {
    const state = cluster.state
    if (state === null) throw new Error('unreachable: no cluster state')
    const raft = cluster.raftState()
    const voters = new Set(raft?.config.voters ?? [])
    const position = state.position()
    return {
      cluster: this.config.cluster,
      self: { ...state.self, quarantined: state.quarantined },
      leader: state.leader(),
      epoch: position.epoch,
      appliedIndex: position.appliedIndex,
      term: position.term,
      raft: raft === null ? null : { role: raft.role, voters: raft.config.voters, learners: raft.config.learners },
      members: state.members().map((m) => ({ ...m, voter: voters.has(raftId(m.node, m.incarnation)) })),
      singletons: state.placements(),
      registryKeys: cluster.registryKeys(),
      singletonsHere: cluster.features?.localSingletons() ?? [],
    }
  }
}
