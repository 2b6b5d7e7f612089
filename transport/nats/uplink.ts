/**
 * The NATS uplink of a sharded node: `ShardedSystem.create({ uplink: natsUplink({ … }) })`. Each
 * shard (the main thread and every worker) loads this module and opens its own NATS connection, so
 * frames between a worker shard and another node go straight through NATS, on the subject of that
 * shard. Shard 0 publishes the node's heartbeats; every shard listens to the others' and hears
 * node-down itself.
 */
import { connect } from '@nats-io/transport-node'
import { InvalidArgumentError, type ActorSystem } from '../../runtime/index.ts'
import type { FrameTransport } from '../FrameTransport.ts'
import type { ShardUplink, ShardUplinkModule } from '../shards/ShardHost.ts'
import type { ClusterSecret } from './FrameSigner.ts'
import { natsAuthProblems, natsConnectOptions, type NatsAuth } from './NatsAuth.ts'
import { NatsTransport } from './NatsTransport.ts'

export interface NatsUplinkOptions {
  /** NATS server URLs. */
  readonly servers: readonly string[]
  /** Cluster name in the subjects. Default: the system's name. */
  readonly cluster?: string
  /** Heartbeat interval and failure-detector timeout of the default membership. */
  readonly heartbeatMs?: number
  readonly downAfterMs?: number
  /** Credentials and TLS of every shard's connection (the node's own: docs/security.md). */
  readonly auth?: NatsAuth
  /** Signs and checks every frame and heartbeat (NatsTransportOptions.clusterSecret). */
  readonly clusterSecret?: ClusterSecret
}

/** The uplink spec for `ShardedSystemOptions.uplink`. */
export function natsUplink(options: NatsUplinkOptions): ShardUplink {
  if (!Array.isArray(options.servers) || options.servers.length === 0) throw new InvalidArgumentError('natsUplink needs at least one server URL')
  // Checked here, on the main thread, rather than once per worker at connect time.
  const problems = options.auth === undefined ? [] : natsAuthProblems(options.auth)
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '))
  return { module: import.meta.url, options: { ...options, servers: [...options.servers] } }
}

const uplinkModule: ShardUplinkModule = {
  async connect(system: ActorSystem, raw: Readonly<Record<string, unknown>>): Promise<FrameTransport> {
    const options = raw as unknown as NatsUplinkOptions
    const cluster = options.cluster ?? system.name
    const connection = await connect({
      servers: [...options.servers],
      name: `troupe:${cluster}:${system.node}:${system.shard}`,
      // Keep trying: the transport buffers (bounded) while the link is down.
      maxReconnectAttempts: -1,
      ...natsConnectOptions(options.auth),
    })
    const heartbeat = {
      ...(options.heartbeatMs === undefined ? {} : { intervalMs: options.heartbeatMs }),
      ...(options.downAfterMs === undefined ? {} : { timeoutMs: options.downAfterMs }),
    }
    try {
      return await NatsTransport.start({
        connection,
        system,
        cluster,
        heartbeat,
        ownsConnection: true,
        ...(options.clusterSecret === undefined ? {} : { clusterSecret: options.clusterSecret }),
      })
    } catch (error) {
      await connection.close()
      throw error
    }
  },
}

export default uplinkModule
