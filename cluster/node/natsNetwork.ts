import { isDeepStrictEqual } from 'node:util'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../../runtime/index.ts'
import { Remoting, type FrameTransport, type RemotingStats } from '../../transport/index.ts'
import { HeartbeatMembership, natsConnectOptions, NatsTransport, type NatsAuth } from '../../transport/nats/index.ts'
import { Gateway } from '../gateway/Gateway.ts'
import { attachLinkLog } from '../observability/OperatorLog.ts'
import { clusterSecretOf, gatewayServers, natsAuthOf } from './Config.ts'
import { natsServers, type NetworkFactory, type NodeNetwork } from './Node.ts'

/**
 * The node's network over NATS: frames between nodes (NatsTransport + Remoting), heartbeats and
 * the failure detector (node-down after `downAfterMs` of silence), and the external gateway for
 * the actors the app publishes. On a sharded node (`routed`) every shard already has its own NATS
 * uplink (frames and membership), so this brings the gateway only, on its own connection. The
 * gateway also gets its own connection when its servers or credentials differ from the node's
 * (docs/security.md: external calls may come through a server or account of their own).
 */
export const natsNetwork: NetworkFactory = async (system, config, metrics, logger, routed, extras = {}) => {
  const nodeAuth = natsAuthOf(config, 'node')
  const gatewayAuth = natsAuthOf(config, 'gateway')
  const shared = !routed && isDeepStrictEqual(gatewayAuth, nodeAuth) && isDeepStrictEqual(gatewayServers(config), natsServers(config))
  const nodeConnection = routed ? null : await open(natsServers(config), nodeAuth, `troupe:${config.cluster}:${config.name}`)
  let connection: NatsConnection
  try {
    connection = shared ? (nodeConnection as NatsConnection) : await open(gatewayServers(config), gatewayAuth, `troupe:${config.cluster}:${config.name}:gateway`)
  } catch (error) {
    await nodeConnection?.close()
    throw error
  }
  let transport: NatsTransport | null = null
  let remoting: RemotingStats | null = null
  let linkUp = true
  let gateway: Gateway
  try {
    if (!shared) void watchLink(connection, logger, (up) => (linkUp = up))
    if (nodeConnection !== null) {
      const clusterSecret = clusterSecretOf(config)
      transport = await NatsTransport.start({
        connection: nodeConnection,
        system,
        cluster: config.cluster,
        heartbeat: { intervalMs: config.heartbeatMs, timeoutMs: config.downAfterMs, ...extras.heartbeat },
        ...(clusterSecret === undefined ? {} : { clusterSecret }),
      })
      attachLinkLog(transport, logger, { peers: true })
      remoting = new Remoting(system, transport).stats
      metrics.observeRemoting(remoting)
      const { stats } = transport
      metrics.observeUnauthenticated({ kind: 'frames', read: () => stats.unauthenticatedFrames })
      metrics.observeMalformed({ reason: 'link-header', read: () => stats.malformedLinkFrames })
      const membership = transport.membership
      if (membership instanceof HeartbeatMembership) metrics.observeUnauthenticated({ kind: 'heartbeats', read: () => membership.stats.unauthenticatedHeartbeats })
    }
    gateway = await Gateway.start({ connection, system, cluster: config.cluster, logger: logger.child({ component: 'gateway' }) })
    metrics.observeGateway(gateway.stats)
  } catch (error) {
    // Nothing started here outlives a failed start.
    await transport?.close()
    await connection.close()
    if (nodeConnection !== null && nodeConnection !== connection) await nodeConnection.close()
    throw error
  }
  const network: NodeNetwork = {
    publish(publicName, ref, options) {
      gateway.publish(publicName, ref, options).then(
        () => logger.info({ publicName, path: ref.path, methods: options.methods }, 'published'),
        (error: unknown) => logger.error({ err: error, publicName }, 'publish failed'),
      )
    },
    connected: () => (shared || (linkUp && !connection.isClosed())) && (transport === null || transport.connected),
    stopIntake: () => gateway.close(),
    // Through the FrameTransport seam: the method is optional there (the membership's to implement).
    announceLeaving: () => (transport as FrameTransport | null)?.announceLeaving?.(),
    leave: async () => {
      if (transport !== null) await transport.membership.stop()
    },
    framesIn: () => remoting?.framesIn ?? 0,
    link: transport,
    connection: nodeConnection,
    inspectConnection: nodeConnection ?? connection,
    async close() {
      await gateway.close()
      await transport?.close()
      await connection.drain()
      if (nodeConnection !== null && nodeConnection !== connection) await nodeConnection.drain()
    },
  }
  return network
}

/** Connects with the given credentials and TLS; keeps trying after a loss (the transport buffers, bounded, and readiness says so). */
function open(servers: string[], auth: NatsAuth, name: string): Promise<NatsConnection> {
  return connect({ servers, name, maxReconnectAttempts: -1, ...natsConnectOptions(auth) })
}

/** Follows the gateway connection's state for readiness and the log. */
async function watchLink(connection: NatsConnection, logger: Logger, onChange: (up: boolean) => void): Promise<void> {
  for await (const status of connection.status()) {
    if (status.type === 'disconnect') {
      onChange(false)
      logger.warn({ connected: false }, 'NATS link lost')
    } else if (status.type === 'reconnect') {
      onChange(true)
      logger.warn({ connected: true }, 'NATS link restored')
    }
  }
}
