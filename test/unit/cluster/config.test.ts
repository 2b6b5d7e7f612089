import { describe, expect, it } from 'vitest'
import { ConfigError, envLayer, redactConfig, resolveConfig } from '../../../cluster/node/index.ts'

describe('node configuration', () => {
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
})
