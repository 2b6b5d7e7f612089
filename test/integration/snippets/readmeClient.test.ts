/**
 * The README's TroupeClient snippet, run against a bank node on the test's NATS server. The snippet
 * runs verbatim except for the server URL and the cluster name, which are this test's own (so runs
 * sharing a server stay apart).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { defaultConfig, natsNetwork, silentLogger, TroupeNode } from '../../../cluster/node/index.ts'
import app from '../../../examples/bank/node.ts'
import { uniqueCluster } from '../../support/services.ts'
import { runSnippetAsync, snippetsOf, writeSnippets } from '../../unit/examples/snippets.ts'

const cluster = uniqueCluster('readme')
let node: TroupeNode

beforeAll(async () => {
  const config = {
    ...defaultConfig(process.pid),
    app: 'examples/bank/node.ts',
    name: 'readme-bank',
    cluster,
    nats: inject('natsUrl'),
    http: '',
    settings: { openAccounts: { alice: 10_000, bob: 0 } },
  }
  node = await TroupeNode.start({ config, app, logger: silentLogger, network: natsNetwork })
})

afterAll(async () => {
  await node?.stop()
})

describe('README client snippet', () => {
  it('transfers through the gateway as written', async () => {
    const snippet = snippetsOf('README.md').find((s) => s.code.includes('TroupeClient.connect('))
    expect(snippet).toBeDefined()
    const code = (snippet?.code as string).replace("'nats://127.0.0.1:4222'", `'${inject('natsUrl')}'`).replace("cluster: 'bank'", `cluster: '${cluster}'`)
    expect(code).not.toBe(snippet?.code)
    const written = writeSnippets([{ ...(snippet as NonNullable<typeof snippet>), code: `${code}console.log(JSON.stringify(receipt))\n` }], 'client')
    try {
      const result = await runSnippetAsync(written.files[0] as string)
      expect(result.stderr).toBe('')
      expect(result.status).toBe(0)
      expect(JSON.parse(result.stdout)).toMatchObject({ from: 'alice', to: 'bob', amount: 100 })
    } finally {
      written.remove()
    }
  }, 120_000)
})
