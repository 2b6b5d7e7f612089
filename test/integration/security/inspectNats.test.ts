/**
 * Introspection over NATS on the documented nats-server roles (docs/security.md): a node started as
 * `troupe start` builds it answers `troupe <cmd> --node` given the node's own credentials, the way
 * the node reads them (flags and TROUPE_* variables); a client without node credentials gets nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineApp, natsNetwork, resolveConfig, runCli, TroupeNode } from '../../../cluster/index.ts'
import { silentLogger } from '../../../runtime/index.ts'
import { Echo } from '../../support/remoteActors.ts'
import { DOC_CLUSTER, startSecuredServer, type SecuredServer } from './fixtures.ts'

let secured: SecuredServer
let node: TroupeNode

beforeAll(async () => {
  secured = await startSecuredServer()
  const config = resolveConfig([{ app: 'inline', name: 'inspected', cluster: DOC_CLUSTER, nats: secured.url, http: '', natsUser: 'node', natsPassword: secured.node.pass }])
  node = await TroupeNode.start({
    config,
    app: defineApp({ name: 'inline', actors: { Echo }, start: ({ system }) => void system.spawn(Echo, { name: 'echo' }) }),
    logger: silentLogger,
    network: natsNetwork,
  })
}, 30_000)
afterAll(async () => {
  await node?.stop()
  await secured?.server.stop()
})

async function troupe(argv: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await runCli({ argv, env, stdout: (t) => (out += t), stderr: (t) => (err += t) })
  return { code, out, err }
}

describe('troupe <inspect> --node on a server with the documented roles', () => {
  it('answers with the node’s credentials (user flag, password from the environment)', async () => {
    const result = await troupe(['actor', '/user/echo', '--nats', secured.url, '--cluster', DOC_CLUSTER, '--node', 'inspected', '--nats-user', 'node'], { TROUPE_NATS_PASSWORD: secured.node.pass })
    expect(result.err + String(result.code)).toBe('0')
    expect((JSON.parse(result.out) as { actors: { path: string }[] }).actors[0]?.path).toBe('/user/echo')
  })

  it('a client user may not publish on the inspect subject: no answer (ERR_NODE_UNREACHABLE); a wrong password cannot connect', async () => {
    const asClient = await troupe(['status', '--nats', secured.url, '--cluster', DOC_CLUSTER, '--node', 'inspected', '--nats-user', 'client'], { TROUPE_NATS_PASSWORD: secured.client.pass })
    expect(asClient.code).toBe(1)
    expect(asClient.err).toContain('[ERR_NODE_UNREACHABLE]')
    const wrong = await troupe(['status', '--nats', secured.url, '--cluster', DOC_CLUSTER, '--node', 'inspected', '--nats-user', 'node'], { TROUPE_NATS_PASSWORD: 'nope' })
    expect(wrong.code).toBe(1)
    expect(wrong.err).toMatch(/cannot connect to NATS.*\[ERR_NODE_UNREACHABLE\]/)
  }, 20_000)
})
