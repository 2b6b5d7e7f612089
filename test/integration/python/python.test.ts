/**
 * The call protocol is language neutral: a Python client that speaks the NATS text protocol over a
 * raw socket (no NATS library) calls a published actor with JSON and msgpack and reads error replies.
 * Python 3 with msgpack comes from the ladder in test/support/services.ts (system python with
 * msgpack, else Debian's python3-msgpack unpacked into node_modules/.cache); when no rung works the
 * test fails and says what to install: it is never skipped.
 */
import { execFile, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { providePythonMsgpack, type PythonWithMsgpack } from '../../support/services.ts'
import { startGateway, type GatewayFixture } from '../gateway/fixtures.ts'

const SCRIPT = fileURLToPath(new URL('./client.py', import.meta.url))

interface PythonResult {
  status: string
  headers: Record<string, string>
  reply: any
}

let fixture: GatewayFixture
let python: PythonWithMsgpack
let host: string
let port: number

beforeAll(async () => {
  python = providePythonMsgpack()
  process.stderr.write(`[python] ${python.python} with msgpack from ${python.source}\n`)
  const url = new URL(inject('natsUrl'))
  host = url.hostname
  port = Number(url.port || 4222)
  fixture = await startGateway(inject('natsUrl'))
})

afterAll(async () => {
  await fixture?.stop()
})

function pythonCall(name: string, encoding: 'json' | 'msgpack', request: unknown, timeoutMs = 5000): Promise<PythonResult> {
  const subject = `troupe.${fixture.cluster}.call.${name}`
  return new Promise((resolve, reject) => {
    execFile(python.python, [SCRIPT, host, String(port), subject, encoding, JSON.stringify(request), String(timeoutMs)], { timeout: 20_000, env: { ...process.env, ...python.env } }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`python client failed: ${error.message}\n${stderr}`))
      else resolve(JSON.parse(stdout) as PythonResult)
    })
  })
}

describe('a Python client over a raw NATS socket', () => {
  it('has an interpreter that imports msgpack (the ladder provided one)', () => {
    const probe = spawnSync(python.python, ['-c', 'import msgpack; print(msgpack.version[0])'], { encoding: 'utf8', env: { ...process.env, ...python.env } })
    expect(probe.status).toBe(0)
    expect(Number(probe.stdout.trim())).toBeGreaterThanOrEqual(1)
  })

  it('calls a published actor with JSON', async () => {
    const first = await pythonCall('bank', 'json', { method: 'deposit', args: [5] })
    expect(first.headers['Content-Type']).toBe('application/json')
    const second = await pythonCall('bank', 'json', { method: 'deposit', args: [7] })
    expect(second.reply.ok).toBe(first.reply.ok + 7)
  })

  it('calls a published actor with msgpack, nested values included', async () => {
    const result = await pythonCall('bank', 'msgpack', { method: 'describe', args: [{ name: 'grace', tags: ['py', 'msgpack'] }] })
    expect(result.headers['Content-Type']).toBe('application/msgpack')
    expect(result.reply.ok).toMatchObject({ name: 'grace', tags: ['py', 'msgpack'] })
    expect(typeof result.reply.ok.balance).toBe('number')
  })

  it('decodes an ActorRef in a msgpack reply (ext 42, ext_hook) to the same address a JSON reply holds', async () => {
    const viaMsgpack = await pythonCall('bank', 'msgpack', { method: 'whoami', args: [] })
    const viaJson = await pythonCall('bank', 'json', { method: 'whoami', args: [] })
    expect(viaMsgpack.reply.ok).toEqual({ system: fixture.cluster, node: 'gw', shard: 0, path: '/user/account', uid: expect.any(Number) })
    expect(viaJson.reply.ok).toEqual(viaMsgpack.reply.ok)
  })

  it('reads error replies in both encodings', async () => {
    const unknownMethod = await pythonCall('bank', 'json', { method: 'withdraw', args: [1] })
    expect(unknownMethod.reply).toMatchObject({ error: { code: 'ERR_UNKNOWN_METHOD' } })
    expect(unknownMethod.headers['Troupe-Error']).toBe('ERR_UNKNOWN_METHOD')
    const invalid = await pythonCall('bank', 'msgpack', { method: 'deposit', args: ['lots'] })
    expect(invalid.reply).toMatchObject({ error: { code: 'ERR_INVALID_ARGS' } })
    // Nobody publishes 'nobody': the server's no-responders status is the protocol's ERR_UNKNOWN_ACTOR.
    const unknownActor = await pythonCall('nobody', 'msgpack', { method: 'balance', args: [] })
    expect(unknownActor.status).toBe('503')
    const expired = await pythonCall('bank', 'json', { method: 'balance', args: [] }, 0)
    expect(expired.reply).toMatchObject({ error: { code: 'ERR_DEADLINE_EXCEEDED' } })
  })
})
