/**
 * @opentelemetry/api is an optional peer dependency, loaded lazily: the CLI and a node (worker
 * shards included) run without it. Each case is a child process whose module resolution hides it.
 */
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../../testing/index.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HIDE = fileURLToPath(new URL('./fixtures/hideOtel.mjs', import.meta.url))
const NODE_ARGS = ['--import', HIDE, '--import', 'tsx']

describe('without @opentelemetry/api', () => {
  it('the hiding works: the package cannot be imported', () => {
    const probe = spawnSync(process.execPath, ['--import', HIDE, '--input-type=module', '-e', "await import('@opentelemetry/api')"], { cwd: ROOT, encoding: 'utf8' })
    expect(probe.status).not.toBe(0)
    expect(probe.stderr).toContain('ERR_MODULE_NOT_FOUND')
  })

  it('troupe --help and --version run', () => {
    const help = spawnSync(process.execPath, [...NODE_ARGS, 'cluster/node/main.ts', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    expect(help.stderr).toBe('')
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('troupe start --app <module>')
    const version = spawnSync(process.execPath, [...NODE_ARGS, 'cluster/node/main.ts', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    expect(version.status).toBe(0)
    expect(version.stdout).toMatch(/^troupe \d+\.\d+\.\d+/)
  }, 90_000)

  it('a node with a worker shard starts, serves, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [...NODE_ARGS, 'cluster/node/main.ts', 'start', '--app', 'examples/bank/node.ts', '--shards', '1', '--http', '127.0.0.1:0', '--name', 'no-otel'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitFor(() => out.includes('"msg":"node started"'), { timeoutMs: 60_000 }).catch((error: Error) => {
        throw new Error(`${error.message}: no 'node started' (stdout: ${out.slice(-2000)} stderr: ${err.slice(-2000)})`)
      })
    } finally {
      child.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    expect(err).toBe('')
  }, 90_000)
})
