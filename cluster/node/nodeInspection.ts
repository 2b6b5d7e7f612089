/** The node's introspection beyond its own HTTP API: answering over NATS, and the dashboard's view of the other members. */
import type { NatsConnection } from '@nats-io/nats-core'
import type { Logger } from '../../runtime/index.ts'
import type { ClusterState } from '../membership/index.ts'
import { clusterSecretOf, type NodeConfig } from './Config.ts'
import { ClusterDashboardRoutes } from './dashboard/ClusterDashboardRoutes.ts'
import type { NodeIntrospection } from './Introspection.ts'
import { NatsInspectResponder } from './NatsInspectResponder.ts'

/** Answers introspection requests on `troupe.<cluster>.inspect.<name>` (signed ones only when the cluster has a secret). */
export function startNatsInspect(config: NodeConfig, connection: NatsConnection, introspection: NodeIntrospection, metrics: () => Promise<string>, logger: Logger): NatsInspectResponder {
  const secret = clusterSecretOf(config)
  return new NatsInspectResponder({ connection, cluster: config.cluster, node: config.name, introspection, metrics, logger, ...(secret === undefined ? {} : { secret }) })
}

/** The dashboard's members panel and other members' trees, asked over NATS on `connection`. */
export function clusterDashboardRoutes(config: NodeConfig, introspection: NodeIntrospection, state: () => ClusterState | null, connection: () => NatsConnection | null, suspects: () => ReadonlySet<string>): ClusterDashboardRoutes {
  const secret = clusterSecretOf(config)
  return new ClusterDashboardRoutes(
    { node: config.name, cluster: config.cluster, introspection, state, connection, suspects, ...(secret === undefined ? {} : { secret }) },
    { dashboard: config.dashboard, inspect: config.inspect },
  )
}
