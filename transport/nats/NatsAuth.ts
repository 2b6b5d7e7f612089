import { readFileSync } from 'node:fs'
import { credsAuthenticator, nkeyAuthenticator, type ConnectionOptions } from '@nats-io/nats-core'
import { InvalidArgumentError } from '../../runtime/index.ts'

/**
 * How a connection proves who it is to the NATS server, and its TLS settings: plain data (paths, not
 * file contents), so it can cross into worker shards and be compared. Use one credential kind.
 */
export interface NatsAuth {
  readonly user?: string
  /** With `user`. */
  readonly pass?: string
  readonly token?: string
  /** A file holding an NKey user seed (`SU…`). */
  readonly nkeySeedFile?: string
  /** A `.creds` file (user JWT and NKey seed), as `nsc` writes it (decentralised JWT auth). */
  readonly credsFile?: string
  /** TLS for the connection (files in PEM). A `tls://` server or one that requires TLS gets TLS anyway. */
  readonly tls?: {
    /** CA to trust for the server's certificate (default: the system's CAs). */
    readonly caFile?: string
    /** Client certificate and its key, for servers that verify clients (mutual TLS). */
    readonly certFile?: string
    readonly keyFile?: string
  }
}

/** Problems with a NatsAuth (empty when it is usable): one credential kind, a password needs a user, cert and key go together. */
export function natsAuthProblems(auth: NatsAuth, what = 'NATS'): string[] {
  const problems: string[] = []
  const kinds = [auth.user !== undefined || auth.pass !== undefined, auth.token !== undefined, auth.nkeySeedFile !== undefined, auth.credsFile !== undefined]
  if (kinds.filter(Boolean).length > 1) problems.push(`${what}: use one of user/password, token, NKey seed file or creds file`)
  if (auth.pass !== undefined && auth.user === undefined) problems.push(`${what}: a password needs a user`)
  if ((auth.tls?.certFile === undefined) !== (auth.tls?.keyFile === undefined)) problems.push(`${what}: a TLS client certificate and its key go together`)
  return problems
}

/**
 * The nats.js connection options for `auth` (spread them into `connect({...})`). The NKey seed and
 * the creds file are read on every (re)connect, so replacing the file rotates the credential
 * without a restart; the TLS files are read by nats.js when it connects.
 */
export function natsConnectOptions(auth: NatsAuth | undefined): Partial<ConnectionOptions> {
  if (auth === undefined) return {}
  const problems = natsAuthProblems(auth)
  if (problems.length > 0) throw new InvalidArgumentError(problems.join('; '))
  const options: { -readonly [K in keyof ConnectionOptions]?: ConnectionOptions[K] } = {}
  if (auth.user !== undefined) options.user = auth.user
  if (auth.pass !== undefined) options.pass = auth.pass
  if (auth.token !== undefined) options.token = auth.token
  const { nkeySeedFile, credsFile, tls } = auth
  if (nkeySeedFile !== undefined) options.authenticator = nkeyAuthenticator(() => new TextEncoder().encode(readFileSync(nkeySeedFile, 'utf8').trim()))
  if (credsFile !== undefined) options.authenticator = credsAuthenticator(() => readFileSync(credsFile))
  if (tls !== undefined) {
    options.tls = {
      ...(tls.caFile === undefined ? {} : { caFile: tls.caFile }),
      ...(tls.certFile === undefined ? {} : { certFile: tls.certFile }),
      ...(tls.keyFile === undefined ? {} : { keyFile: tls.keyFile }),
    }
  }
  return options
}
