import { describe, expect, it } from 'vitest'
import { ConfigError, envLayer, redactConfig, resolveConfig } from '../../../cluster/node/index.ts'

describe('node configuration', () => {
  it('layers defaults < file < env < flags', () => {
    const file = { cluster: 'from-file', shards: 2, http: '127.0.0.1:1000' }
    const env = envLayer({ TROUPE_SHARDS: '3', TROUPE_APP: 'env-app.ts', TROUPE_HTTP: '' })
    const flags = { shards: '4' }
    const config = resolveConfig([file, env, flags], 77)
    expect(config).toMatchObject({ name: 'node-77', cluster: 'from-file', app: 'env-app.ts', shards: 4, http: '127.0.0.1:1000', logLevel: 'info' })
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
