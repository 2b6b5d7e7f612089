import { describe, expect, it } from 'vitest'
import { defaultConfig, defineApp, TroupeNode, type AppContext } from '../../../cluster/node/index.ts'
import { Actor, silentLogger } from '../../../runtime/index.ts'

class Counter extends Actor<{ inc(): number }> {
  private n = 0
  inc(): number {
    return ++this.n
  }
}

/** A standalone node (no NATS) whose app publishes with the given options. */
async function startWith(options: unknown): Promise<TroupeNode> {
  const app = defineApp({
    name: 'publisher',
    actors: { Counter },
    start(context: AppContext) {
      const publish = context.publish as (name: string, ref: unknown, options?: unknown) => void
      publish('counter', context.system.spawn(Counter, { name: 'counter' }), options)
    },
  })
  const config = { ...defaultConfig(process.pid), app: 'inline', name: 'publisher', http: '' }
  return TroupeNode.start({ config, app, logger: silentLogger })
}

describe('AppContext.publish', () => {
  it('checks the options at once, NATS or not: no method list (or a lifecycle name) fails the app start', async () => {
    for (const options of [undefined, {}, { methods: [] }, { methods: ['preStart'] }, { methods: ['inc'], args: { inc: 'not a schema' } }]) {
      await expect(startWith(options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' })
    }
  })

  it('takes a method list (standalone: nothing is served)', async () => {
    const node = await startWith({ methods: ['inc'] })
    await node.stop()
  })
})
