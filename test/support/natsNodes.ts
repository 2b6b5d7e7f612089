/**
 * Test nodes joined over a real NATS server: an ActorSystem, its own NATS connection, a
 * NatsTransport and Remoting, as the node runtime composes them.
 */
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node'
import { ActorSystem, type ActorSystemOptions } from '../../runtime/index.ts'
import { Remoting, type RemotingOptions } from '../../transport/index.ts'
import { NatsTransport, type NatsTransportOptions } from '../../cluster/index.ts'

export interface TestNode {
  readonly system: ActorSystem
  readonly connection: NatsConnection
  readonly transport: NatsTransport
  readonly remoting: Remoting
  /** Terminates the system, closes the transport (a graceful leave) and the connection. */
  stop(): Promise<void>
}

export interface TestNodeOptions {
  readonly system?: Partial<ActorSystemOptions>
  readonly transport?: Partial<Omit<NatsTransportOptions, 'connection' | 'system'>>
  readonly remoting?: RemotingOptions
  readonly connection?: Partial<NodeConnectionOptions>
}

/** Fast reconnects so outage tests do not wait on the 2 s default. */
export const TEST_CONNECTION: Partial<NodeConnectionOptions> = {
  reconnect: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 100,
  reconnectJitter: 20,
  waitOnFirstConnect: true,
}

export async function startNode(url: string, cluster: string, node: string, options: TestNodeOptions = {}): Promise<TestNode> {
  const system = ActorSystem.create({ name: cluster, node, ...options.system })
  const connection = await connect({ servers: url, name: `${cluster}/${node}`, ...TEST_CONNECTION, ...options.connection })
  const transport = await NatsTransport.start({ connection, system, ...options.transport })
  const remoting = new Remoting(system, transport, options.remoting)
  let stopped: Promise<void> | null = null
  return {
    system,
    connection,
    transport,
    remoting,
    stop() {
      stopped ??= (async () => {
        await system.terminate()
        await transport.close()
        if (!connection.isClosed()) await connection.close()
      })()
      return stopped
    },
  }
}
