import { createServer, type Server } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultConfig, TroupeNode } from '../../../cluster/node/index.ts'
import { silentLogger } from '../../../runtime/index.ts'
import { waitFor } from '../../../testing/index.ts'
import app from '../../../examples/bank/node.ts'

const appUrl = new URL('../../../examples/bank/node.ts', import.meta.url).href
let blocker: Server | null = null
afterEach(() => {
  blocker?.close()
  blocker = null
})

/** Message ports alive in this process: each worker shard holds some. */
function ports(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'MessagePort').length
}

describe('TroupeNode (embedded)', () => {
  it('a node whose start fails stops the worker shards it had started', async () => {
    blocker = createServer()
    const port = await new Promise<number>((resolve) => (blocker as Server).listen(0, '127.0.0.1', () => resolve(((blocker as Server).address() as { port: number }).port)))
    const before = ports()
    const config = { ...defaultConfig(process.pid), app: 'examples/bank/node.ts', name: 'fails-to-bind', shards: 2, http: `127.0.0.1:${port}` }
    await expect(TroupeNode.start({ config, app, appUrl, logger: silentLogger })).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await waitFor(() => ports() <= before, { message: 'the worker shards ended', timeoutMs: 10_000 })
  }, 30_000)
})
