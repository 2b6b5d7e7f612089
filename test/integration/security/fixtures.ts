/** Shared by the security tests: the documented nats-server configuration, and forged traffic. */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ActorSystem, Envelope, EnvelopeKind, type ActorAddress } from '../../../runtime/index.ts'
import { dataFrame, dataPrefix } from '../../../transport/nats/LinkFrames.ts'
import { LocalNatsServer } from '../../support/services.ts'

/** The cluster name the configuration in docs/security.md is written for. */
export const DOC_CLUSTER = 'bank'

/**
 * The nats-server configuration exactly as docs/security.md gives it (the fenced block after the
 * `troupe:nats-server-roles` marker), so the test proves the page rather than a copy of it.
 */
export function documentedServerConfig(): string {
  const page = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8')
  const match = /<!-- troupe:nats-server-roles -->\s*```[a-z]*\n([\s\S]*?)```/.exec(page)
  if (match === null) throw new Error('docs/security.md lost its nats-server configuration block (marker troupe:nats-server-roles)')
  return match[1] as string
}

export interface SecuredServer {
  readonly server: LocalNatsServer
  readonly url: string
  readonly node: { readonly user: string; readonly pass: string }
  readonly client: { readonly user: string; readonly pass: string }
}

/** A private nats-server running the documented roles, with fresh passwords in its environment. */
export async function startSecuredServer(): Promise<SecuredServer> {
  // nats-server parses a variable's value as a config token: a hex string that starts with a digit can read as a number.
  const node = { user: 'node', pass: `pw${randomBytes(12).toString('hex')}` }
  const client = { user: 'client', pass: `pw${randomBytes(12).toString('hex')}` }
  const server = await LocalNatsServer.start({
    config: documentedServerConfig(),
    env: { TROUPE_NODE_PASSWORD: node.pass, TROUPE_CLIENT_PASSWORD: client.pass },
  })
  return { server, url: server.url, node, client }
}

/**
 * The frame a stranger would publish on a node's `sys` subject: one tell of `method(...args)` to the
 * actor at `target`, encoded exactly as a node would encode it (so only authenticity can stop it):
 * the first frame of a new stream of a sender `mallory`, behind its link header.
 */
export async function forgedTell(target: ActorAddress, method: string, args: unknown[]): Promise<Uint8Array> {
  const mallory = ActorSystem.create({ name: target.system, node: 'mallory' })
  try {
    const body = mallory.codec.encodeBatch([new Envelope(EnvelopeKind.Tell, mallory.refFor(target), null, 1, 0, null, method, args)])
    return dataFrame(dataPrefix('mallory', 0, randomBytes(4).readUInt32LE(0) | 1, 1), 1, body)
  } finally {
    await mallory.terminate()
  }
}

/** A heartbeat as a node would publish it (JSON, unsigned). */
export function forgedHeartbeat(message: { type: 'announce' | 'beat' | 'leave'; node: string; incarnation: string }): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: 1, intervalMs: 100, ...message }))
}
