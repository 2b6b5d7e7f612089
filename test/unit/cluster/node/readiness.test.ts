import { describe, expect, it } from 'vitest'
import { defaultConfig, defineApp, TroupeNode, type ReadinessProbe } from '../../../../cluster/node/index.ts'
import { silentLogger } from '../../../../runtime/index.ts'

async function readyz(port: number): Promise<{ status: number; reasons: string[] }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons }
}

describe('TroupeNode readiness checks', () => {
  it("an app's readiness checks decide /readyz with their reasons, and can be removed", async () => {
    let ok = true
    const probe: ReadinessProbe = { name: 'pg', ready: () => (ok ? { ok: true, reason: null } : { ok: false, reason: 'pg unhealthy (ERR_PG_CONNECTION)' }) }
    const broken: ReadinessProbe = {
      name: 'broken',
      ready: () => {
        throw new Error('boom')
      },
    }
    let remove: (() => void) | null = null
    let removeBroken: (() => void) | null = null
    const app = defineApp({
      name: 'ready-app',
      actors: {},
      start(context) {
        remove = context.addReadinessCheck(probe)
        removeBroken = context.addReadinessCheck(broken)
      },
    })
    const config = { ...defaultConfig(process.pid), app: 'inline', name: 'ready-node', http: '127.0.0.1:0' }
    const node = await TroupeNode.start({ config, app, appUrl: import.meta.url, logger: silentLogger })
    try {
      const port = node.httpPort as number
      expect(await readyz(port)).toEqual({ status: 503, reasons: ['broken: boom'] })
      ;(removeBroken as unknown as () => void)()
      expect(await readyz(port)).toEqual({ status: 200, reasons: [] })
      ok = false
      expect(await readyz(port)).toEqual({ status: 503, reasons: ['pg unhealthy (ERR_PG_CONNECTION)'] })
      ;(remove as unknown as () => void)()
      expect(await readyz(port)).toEqual({ status: 200, reasons: [] })
    } finally {
      await node.stop()
    }
  })
})
