import { connect, type NatsConnection } from '@nats-io/transport-node'
import type { Logger } from '../../runtime/index.ts'
import { Remoting } from '../../transport/index.ts'
import { NatsTransport } from '../../transport/nats/index.ts'
import { Gateway } from '../gateway/Gateway.ts'
import { natsServers, type NetworkFactory, type NodeNetwork } from './Node.ts'

/**
 * The node's network over NATS: frames between nodes (NatsTransport + Remoting), heartbeats and
 * the failure detector (node-down after `downAfterMs` of silence), and the external gateway for
 * the actors the app publishes. On a sharded node (`routed`) every shard already has its own NATS
 * uplink (frames and membership), so this brings the gateway only, on its own connection.
 */
export const natsNetwork: NetworkFactory = async (system, config, metrics, logger, routed) => {
  const connection = await connect({
    servers: natsServers(config),
    name: `troupe:${config.cluster}:${config.name}${routed ? ':gateway' : ''}`,
    // Keep trying: the transport buffers (bounded) while the link is down, and readiness says so.
    maxReconnectAttempts: -1,
  })
  let transport: NatsTransport | null = null
  let linkUp = true
  let gateway: Gateway
  try {
    if (routed) {
      void watchLink(connection, logger, (up) => (linkUp = up))
    } else {
      transport = await NatsTransport.start({
        connection,
        system,
        cluster: config.cluster,
        heartbeat: { intervalMs: config.heartbeatMs, timeoutMs: config.downAfterMs },
      })
      transport.onLinkChange((up) => logger.warn({ connected: up }, up ? 'NATS link restored' : 'NATS link lost'))
      transport.onPeerDown((node) => logger.warn({ peer: node }, 'peer node down'))
      metrics.observeRemoting(new Remoting(system, transport).stats)
    }
    gateway = await Gateway.start({ connection, system, cluster: config.cluster, logger: logger.child({ component: 'gateway' }) })
  } catch (error) {
    // Nothing started here outlives a failed start.
    await transport?.close()
    await connection.close()
    throw error
  }
  const network: NodeNetwork = {
    publish(publicName, ref, options) {
      gateway.publish(publicName, ref, options).then(
        () => logger.info({ publicName, path: ref.path, methods: options.methods }, 'published'),
        (error: unknown) => logger.error({ err: error, publicName }, 'publish failed'),
      )
    },
    connected: () => (transport === null ? linkUp && !connection.isClosed() : transport.connected),
    stopIntake: () => gateway.close(),
    async close() {
      await gateway.close()
      await transport?.close()
      await connection.drain()
    },
  }
  return network
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
