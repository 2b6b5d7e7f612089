/**
 * A real TroupeNode whose app spawns a RedisClient and registers `clientReadiness` with
 * `context.addReadinessCheck` (the example of docs/components/clients.md): the node's own `/readyz`
 * answers 503 with the client's reason while the Redis the test owns is killed, and 200 again after
 * it is back. Starts its own redis-server (the test kills it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientReadiness, RedisClient } from '../../../../actors/index.ts'
import { defaultConfig, defineApp, TroupeNode } from '../../../../cluster/node/index.ts'
import { silentLogger } from '../../../../runtime/index.ts'
import { waitForValue } from '../../../../testing/index.ts'
import { LocalRedisServer } from '../../../support/dataServices.ts'

let server: LocalRedisServer
beforeAll(async () => {
  server = await LocalRedisServer.start()
})
afterAll(async () => {
  await server.stop()
})

async function readyz(port: number): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons }
}

/** The app of the docs' example: a RedisClient whose health decides the node's readiness. */
function cacheApp(url: string) {
  return defineApp({
    name: 'cache-app',
    actors: { RedisClient },
    async start(context) {
      const cache = context.system.spawn(RedisClient, {
        name: 'cache',
        args: [{ name: 'cache', url, commandTimeoutMs: 500, health: { intervalMs: 100, maxIntervalMs: 300, timeoutMs: 300, unhealthyAfter: 2, healthyAfter: 2 } }],
      })
      const readiness = await clientReadiness(context.system, cache)
      context.addReadinessCheck(readiness)
    },
  })
}

describe('a node with a RedisClient: /readyz follows the client', () => {
  it('answers 503 with the reason while Redis is down, 200 when it is back', async () => {
    const config = { ...defaultConfig(process.pid), app: 'inline', name: 'ready-redis', http: '127.0.0.1:0' }
    const node = await TroupeNode.start({ config, app: cacheApp(server.url), appUrl: import.meta.url, logger: silentLogger })
    try {
      const port = node.httpPort as number
      await waitForValue(() => readyz(port), (r) => r.status === 200, { timeoutMs: 15_000 })
      expect(await readyz(port)).toEqual({ status: 200, reasons: [] })

      await server.crash()
      const down = await waitForValue(() => readyz(port), (r) => r.status === 503, { timeoutMs: 15_000 })
      expect(down.reasons).toEqual([expect.stringMatching(/^cache unhealthy \(ERR_REDIS_(CONNECTION|TIMEOUT)\)$/)])

      await server.resume()
      await waitForValue(() => readyz(port), (r) => r.status === 200, { timeoutMs: 20_000 })
      expect(await readyz(port)).toEqual({ status: 200, reasons: [] })
    } finally {
      await node.stop()
    }
  }, 60_000)
})
