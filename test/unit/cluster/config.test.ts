import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  clusterSecretOf,
  ConfigError,
  envLayer,
  gatewayServers,
  natsAuthOf,
  natsUplinkOptions,
  redactConfig,
  resolveConfig,
  runCli,
} from '../../../cluster/node/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'troupe-config-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
function file(name: string, text: string): string {
  const path = join(dir, name)
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

function problemsOf(run: () => unknown): string[] {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return ((error as ConfigError).data as { problems: string[] }).problems
  }
  throw new Error('expected a ConfigError')
}

describe('node configuration', () => {
  it('has documented shutdown phase timeouts, each settable from TROUPE_SHUTDOWN_*_MS', () => {
    const defaults = resolveConfig([{ app: 'a.ts' }], 1)
    expect(defaults).toMatchObject({
      shutdownTimeoutMs: 10_000,
      shutdownForceMs: 2000,
      shutdownIntakeMs: 1000,
      shutdownDrainMs: 4000,
      shutdownLeaveMs: 1000,
      shutdownQuietMs: 200,
      shutdownActorsMs: 1000,
      shutdownCloseMs: 1000,
    })
    const env = envLayer({ TROUPE_SHUTDOWN_DRAIN_MS: '6000', TROUPE_SHUTDOWN_QUIET_MS: '50', TROUPE_SHUTDOWN_FORCE_MS: '3000' })
    expect(resolveConfig([{ app: 'a.ts' }, env], 1)).toMatchObject({ shutdownDrainMs: 6000, shutdownQuietMs: 50, shutdownForceMs: 3000 })
    expect(problemsOf(() => resolveConfig([{ app: 'a.ts', shutdownLeaveMs: -1 }], 1))).toEqual(["shutdownLeaveMs must be an integer >= 0, got '-1'"])
  })

  it('layers defaults < file < env < flags', () => {
    const file = { cluster: 'from-file', logLevel: 'warn', http: '127.0.0.1:1000', shutdownTimeoutMs: 2000 }
    const env = envLayer({ TROUPE_LOG_LEVEL: 'error', TROUPE_APP: 'env-app.ts', TROUPE_HTTP: '', TROUPE_SHUTDOWN_TIMEOUT_MS: '3000' })
    const flags = { logLevel: 'debug' }
    const config = resolveConfig([file, env, flags], 77)
    expect(config).toMatchObject({ name: 'node-77', cluster: 'from-file', app: 'env-app.ts', logLevel: 'debug', http: '127.0.0.1:1000', shutdownTimeoutMs: 3000, shards: 0 })
  })

  it('takes a number of worker shards >= 0 (0: every actor on the main thread)', () => {
    expect(resolveConfig([{ app: 'a.ts' }, envLayer({ TROUPE_SHARDS: '3' })]).shards).toBe(3)
    expect(() => resolveConfig([{ app: 'a.ts', shards: -1 }])).toThrow(/shards must be an integer >= 0/)
  })

  it('reports every problem at once with a stable code', () => {
    let error: unknown
    try {
      resolveConfig([{ shards: 'x', logLevel: 'loud', heartbeatMs: 5000, downAfterMs: 100, bogus: 1 } as never])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).code).toBe('ERR_CONFIG')
    const problems = ((error as ConfigError).data as { problems: string[] }).problems
    expect(problems).toHaveLength(5)
    expect(problems.join('\n')).toMatch(/unknown setting 'bogus'[\s\S]*shards[\s\S]*app is required[\s\S]*logLevel[\s\S]*downAfterMs/)
  })

  it('redacts credentials in the NATS URL', () => {
    const config = resolveConfig([{ app: 'a.ts', nats: 'nats://user:secret@host:4222,nats://h2:4222' }])
    expect(redactConfig(config)['nats']).toBe('nats://***@host:4222,nats://h2:4222')
  })

  it('takes NATS credentials and TLS from file, env and flags, and never prints a secret', () => {
    const seed = file('node.nk', 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n')
    const ca = file('ca.pem', 'pem')
    const config = resolveConfig([
      { app: 'a.ts', nats: 'nats://n1:4222', natsPassword: 'from-file', clusterSecret: 'c'.repeat(32), clusterSecretPrevious: 'p'.repeat(32) },
      envLayer({ TROUPE_NATS_USER: 'node', TROUPE_NATS_TLS_CA_FILE: ca, TROUPE_GATEWAY_NATS_NKEY_SEED_FILE: seed, TROUPE_GATEWAY_NATS: 'nats://gw:4222' }),
    ])
    expect(natsAuthOf(config, 'node')).toEqual({ user: 'node', pass: 'from-file', tls: { caFile: ca } })
    // The gateway's own credential replaces the node's as a whole; TLS falls back to the node's.
    expect(natsAuthOf(config, 'gateway')).toEqual({ nkeySeedFile: seed, tls: { caFile: ca } })
    expect(gatewayServers(config)).toEqual(['nats://gw:4222'])
    expect(clusterSecretOf(config)).toEqual({ current: 'c'.repeat(32), previous: 'p'.repeat(32) })
    expect(natsUplinkOptions(config)).toMatchObject({ servers: ['nats://n1:4222'], auth: { user: 'node', pass: 'from-file' }, clusterSecret: { current: 'c'.repeat(32) } })
    const printed = JSON.stringify(redactConfig(config))
    for (const secret of ['from-file', 'c'.repeat(32), 'p'.repeat(32)]) expect(printed).not.toContain(secret)
    expect(redactConfig(config)).toMatchObject({ natsPassword: '***', natsToken: '', clusterSecret: '***', natsUser: 'node' })
  })

  it('without gateway settings the gateway uses the node connection settings', () => {
    const config = resolveConfig([{ app: 'a.ts', nats: 'nats://n1:4222, nats://n2:4222', natsToken: 't0ken' }])
    expect(natsAuthOf(config, 'gateway')).toEqual(natsAuthOf(config, 'node'))
    expect(natsAuthOf(config, 'node')).toEqual({ token: 't0ken' })
    expect(gatewayServers(config)).toEqual(['nats://n1:4222', 'nats://n2:4222'])
    expect(clusterSecretOf(config)).toBeUndefined()
  })

  it('reads the cluster secret from a file: current, then previous', () => {
    const secrets = file('secret', '# rotated 2026-12-01\n' + 'n'.repeat(32) + '\n' + 'o'.repeat(32) + '\n')
    const config = resolveConfig([{ app: 'a.ts' }, envLayer({ TROUPE_CLUSTER_SECRET_FILE: secrets })])
    expect(clusterSecretOf(config)).toEqual({ current: 'n'.repeat(32), previous: 'o'.repeat(32) })
    expect(JSON.stringify(redactConfig(config))).not.toContain('n'.repeat(32))
  })

  it('reports every credential, TLS and secret problem at once', () => {
    const problems = problemsOf(() =>
      resolveConfig([
        {
          app: 'a.ts',
          natsPassword: 'no-user',
          natsToken: 'and-a-token',
          natsTlsCertFile: join(dir, 'missing.pem'),
          gatewayNatsUser: 'gw',
          gatewayNatsCredsFile: join(dir, 'missing.creds'),
          clusterSecret: 'short',
          clusterSecretFile: file('empty-secret', '\n'),
        },
      ]),
    )
    expect(problems.join('\n')).toMatch(/natsTlsCertFile: cannot read/)
    expect(problems.join('\n')).toMatch(/gatewayNatsCredsFile: cannot read/)
    expect(problems.join('\n')).toMatch(/node NATS connection: use one of user\/password, token/)
    expect(problems.join('\n')).toMatch(/node NATS connection: a password needs a user/)
    expect(problems.join('\n')).toMatch(/node NATS connection: a TLS client certificate and its key go together/)
    expect(problems.join('\n')).toMatch(/gateway NATS connection: use one of/)
    expect(problems.join('\n')).toMatch(/either in clusterSecretFile or as clusterSecret/)
    expect(problemsOf(() => resolveConfig([{ app: 'a.ts', clusterSecret: 'short' }]))).toEqual(['clusterSecret must be at least 16 bytes (32 random bytes recommended), got 5'])
    expect(problemsOf(() => resolveConfig([{ app: 'a.ts', clusterSecretFile: file('blank', '# nothing\n') }]))[0]).toMatch(/holds no secret/)
  })

  it('the CLI takes credential file flags, refuses secrets as flags, and teaches them in --help', async () => {
    const out: string[] = []
    const err: string[] = []
    const io = { env: {}, stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }
    expect(await runCli({ ...io, argv: ['start', '--help'] })).toBe(0)
    for (const flag of ['--nats-user', '--nats-nkey', '--nats-creds', '--nats-tls-ca', '--nats-tls-cert', '--gateway-nats', '--cluster-secret-file']) expect(out.join('')).toContain(flag)
    expect(await runCli({ ...io, argv: ['start', '--app', 'a.ts', '--nats-password', 'secret'] })).toBe(2)
    expect(await runCli({ ...io, argv: ['start', '--app', 'a.ts', '--nats-user', 'u', '--nats-tls-key', join(dir, 'nope.key'), '--cluster-secret-file', join(dir, 'nope')] })).toBe(2)
    expect(err.join('')).toMatch(/natsTlsKeyFile: cannot read[\s\S]*clusterSecretFile: cannot read/)
  })
})
