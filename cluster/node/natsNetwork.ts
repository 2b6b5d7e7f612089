import { connect } from '@nats-io/transport-node'
import { Remoting } from '../../transport/index.ts'
import { NatsTransport } from '../../transport/nats/index.ts'
import { Gateway } from '../gateway/Gateway.ts'
import type { NetworkFactory, NodeNetwork } from './Node.ts'

/**
 * The node's network over NATS: frames between nodes (NatsTransport + Remoting), heartbeats and
 * the failure detector (node-down after `downAfterMs` of silence), and the external gateway for
 * the actors the app publishes.
 */
export const natsNetwork: NetworkFactory = async (system, config, metrics, logger) => {
  const connection = await connect({
    servers: config.nats.split(',').map((s) => s.trim()),
    name: `troupe:${config.cluster}:${config.name}`,
    // Keep trying: the transport buffers (bounded) while the link is down, and readiness says so.
    maxReconnectAttempts: -1,
  })
  const transport = await NatsTransport.start({
    connection,
    system,
    cluster: config.cluster,
    heartbeat: { intervalMs: config.heartbeatMs, timeoutMs: config.downAfterMs },
  })
  transport.onLinkChange((up) => logger.warn({ connected: up }, up ? 'NATS link restored' : 'NATS link lost'))
  transport.onPeerDown((node) => logger.warn({ peer: node }, 'peer node down'))
  const remoting = new Remoting(system, transport)
  metrics.observeRemoting(remoting.stats)
  const gateway = await Gateway.start({ connection, system, cluster: config.cluster })
  const network: NodeNetwork = {
    publish(publicName, ref) {
      gateway.publish(publicName, ref).then(
        () => logger.info({ publicName, path: ref.path }, 'published'),
        (error: unknown) => logger.error({ err: error, publicName }, 'publish failed'),
      )
    },
    connected: () => transport.connected,
    stopIntake: () => gateway.close(),
    async close() {
      await gateway.close()
      await transport.close()
      await connection.drain()
    },
  }
  return network
}
