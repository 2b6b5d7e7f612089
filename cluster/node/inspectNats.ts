/**
 * `troupe status|tree|actor|metrics --nats <url> --node <name>`: the inspect commands' way to a node
 * whose HTTP port is out of reach, over its introspection subject (inspectProtocol.ts). The NATS
 * server, cluster, credentials, TLS and cluster secret are read as the node reads them — a config
 * file (`--config`), `TROUPE_*` variables, the same flags — so the CLI proves itself the way the node does.
 */
import { connect } from '@nats-io/transport-node'
import type { NatsConnection } from '@nats-io/nats-core'
import { FrameSigner, natsConnectOptions } from '../../transport/nats/index.ts'
import { ConfigError, clusterSecretOf, envLayer, fileLayer, natsAuthOf, natsServers, resolveConfig, type ConfigLayer } from './Config.ts'
import { askInspect, UNREACHABLE } from './natsInspectClient.ts'
import type { InspectReply, InspectRequest } from './inspectProtocol.ts'
import type { SettingKey } from './settings.ts'

/** Flags of the NATS way, each the node's setting of the same flag (`--nats-creds` is natsCredsFile). */
export const NATS_INSPECT_FLAGS: Readonly<Record<string, SettingKey>> = {
  nats: 'nats',
  cluster: 'cluster',
  'nats-user': 'natsUser',
  'nats-nkey': 'natsNkeySeedFile',
  'nats-creds': 'natsCredsFile',
  'nats-tls-ca': 'natsTlsCaFile',
  'nats-tls-cert': 'natsTlsCertFile',
  'nats-tls-key': 'natsTlsKeyFile',
  'cluster-secret-file': 'clusterSecretFile',
}

const CONNECT_TIMEOUT_MS = 5000

/** How an inspect command reaches a node over NATS; `ask` resolves with the node's reply or a typed refusal. */
export interface NatsInspectTarget {
  readonly subjectNode: string
  ask(request: InspectRequest, timeoutMs: number): Promise<InspectReply>
  close(): Promise<void>
}

/**
 * Resolves the NATS settings (defaults < `--config` file < environment < flags) and connects.
 * Throws ConfigError on bad settings; a server that cannot be reached is an ERR_NODE_UNREACHABLE reply of every ask.
 */
export async function openNatsTarget(node: string, flags: Readonly<Record<string, string | undefined>>, configFile: string | undefined, env: NodeJS.ProcessEnv): Promise<NatsInspectTarget> {
  const layer: ConfigLayer = {}
  for (const [flag, key] of Object.entries(NATS_INSPECT_FLAGS)) if (flags[flag] !== undefined) layer[key] = flags[flag]
  // The node's settings minus what only a start needs: `app` is required there, unused here.
  const layers: ConfigLayer[] = [{ app: '(inspect)' }]
  if (configFile !== undefined) layers.push(fileLayer(configFile))
  layers.push(envLayer(env), layer)
  const config = resolveConfig(layers)
  if (config.nats === '') throw new ConfigError('give the NATS server: --nats <url> (or TROUPE_NATS, or "nats" in --config)', { data: { problems: ['nats: empty'] } })
  if (!/^[A-Za-z0-9_-]+$/.test(node)) throw new ConfigError(`--node must be a node name ([A-Za-z0-9_-]+), got '${node}'`, { data: { problems: ['node'] } })
  const secret = clusterSecretOf(config)
  const signer = secret === undefined ? null : new FrameSigner(secret)
  let connection: NatsConnection | null = null
  let failure: string | null = null
  try {
    connection = await connect({ servers: natsServers(config), name: `troupe-inspect:${config.cluster}`, maxReconnectAttempts: 0, timeout: CONNECT_TIMEOUT_MS, ...natsConnectOptions(natsAuthOf(config, 'node')) })
  } catch (error) {
    failure = `cannot connect to NATS at ${config.nats.replace(/\/\/[^@/]*@/g, '//***@')}: ${(error as Error).message}`
  }
  return {
    subjectNode: node,
    ask: (request, timeoutMs) => (connection === null ? Promise.resolve({ ok: false, code: UNREACHABLE, error: failure ?? 'no NATS connection' }) : askInspect(connection, config.cluster, node, request, { timeoutMs, signer })),
    close: async () => {
      await connection?.close()
    },
  }
}
