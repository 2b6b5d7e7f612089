/** The CLI as an operator meets it: version, suggestions, readable start-up errors, every setting as flag and file key. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError, fileLayer, flagLayer, resolveConfig, runCli, troupeVersion, unknownEnvVariables, type CliIo } from '../../../../cluster/node/index.ts'
import { createNodeLogger } from '../../../../cluster/node/logging.ts'
import { closest } from '../../../../cluster/node/suggest.ts'

const dir = mkdtempSync(join(tmpdir(), 'troupe-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function io(argv: string[], extra: Partial<CliIo> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { argv, env: {}, stdout: (t) => out.push(t), stderr: (t) => err.push(t), out, err, ...extra }
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

describe('troupe CLI', () => {
  it('prints its version (package.json) with --version, -v and version', async () => {
    expect(troupeVersion()).toMatch(/^\d+\.\d+\.\d+/)
    for (const flag of ['--version', '-v', 'version']) {
      const cli = io([flag])
      expect(await runCli(cli)).toBe(0)
      expect(cli.out.join('')).toBe(`troupe ${troupeVersion()} (Node.js ${process.version})\n`)
    }
  })

  it('suggests the closest command, flag and setting for a typo', async () => {
    const command = io(['strat'])
    expect(await runCli(command)).toBe(2)
    expect(command.err.join('')).toContain("unknown command 'strat' (did you mean 'start'?)")
    const flag = io(['start', '--app', 'a.ts', '--shard', '2', '--nmae', 'x'])
    expect(await runCli(flag)).toBe(2)
    expect(flag.err.join('')).toContain("unknown option '--shard' (did you mean '--shards'?)")
    expect(flag.err.join('')).toContain("unknown option '--nmae' (did you mean '--name'?)")
    expect(problemsOf(() => resolveConfig([{ app: 'a.ts', hearbeatMs: 100 } as never]))).toEqual(["unknown setting 'hearbeatMs' (did you mean 'heartbeatMs'?)"])
    expect(unknownEnvVariables({ TROUPE_SHARD: '2', TROUPE_SHARDS: '1', PATH: '/bin' })).toEqual(["unknown variable TROUPE_SHARD (did you mean 'TROUPE_SHARDS'?)"])
    expect(closest('completely-different', ['start'])).toBeNull()
  })

  it('takes heartbeat, down-after and every shutdown timeout as flags and as config-file keys', () => {
    const flags = flagLayer(['--heartbeat-ms', '200', '--down-after-ms', '900', '--shutdown-timeout-ms', '8000', '--shutdown-drain-ms', '3000', '--shutdown-quiet-ms', '50'])
    const config = resolveConfig([{ app: 'a.ts' }, flags.layer])
    expect(config).toMatchObject({ heartbeatMs: 200, downAfterMs: 900, shutdownTimeoutMs: 8000, shutdownDrainMs: 3000, shutdownQuietMs: 50 })
    const path = join(dir, 'timeouts.json')
    writeFileSync(path, JSON.stringify({ $schema: './node.config.schema.json', app: 'app.ts', heartbeatMs: 300, downAfterMs: 1200, shutdownLeaveMs: 700, settings: { x: 1 } }))
    const fromFile = resolveConfig([fileLayer(path)])
    expect(fromFile).toMatchObject({ heartbeatMs: 300, downAfterMs: 1200, shutdownLeaveMs: 700, settings: { x: 1 } })
    // "app" in a file is relative to the file: the same meaning as --app, one name.
    expect(fromFile.app).toBe(resolve(dir, 'app.ts'))
    expect(problemsOf(() => resolveConfig([{ app: 'a.ts' }, flagLayer(['--heartbeat-ms', 'soon']).layer]))).toEqual(["heartbeatMs must be an integer >= 1, got 'soon'"])
  })

  it('says what the old config-file layout became ("app" object, "appModule")', () => {
    const old = join(dir, 'old.json')
    writeFileSync(old, JSON.stringify({ appModule: 'x.ts', app: { auditIntervalMs: 1 } }))
    const problems = problemsOf(() => fileLayer(old))
    expect(problems.join('\n')).toMatch(/"app" is the app module path; the app's own settings go in "settings"/)
    expect(problems.join('\n')).toMatch(/"appModule" is now "app"/)
  })

  it('a missing app module is a readable error with a hint, exit 2, and no JSON stack', async () => {
    const cli = io(['start', '--app', 'app.ts', '--http', '', '--log-level', 'warn'], { cwd: dir })
    expect(await runCli(cli)).toBe(2)
    const text = cli.err.join('')
    expect(text).toContain(`troupe: cannot load the app module 'app.ts': there is no file ${resolve(dir, 'app.ts')}`)
    expect(text).toContain('hint: the path is relative to the current directory')
    expect(text).not.toContain('"stack"')
    expect(text.split('\n').length).toBeLessThanOrEqual(3)
  })

  it('a module that is not an app says how an app module ends', async () => {
    const path = join(dir, 'notAnApp.mjs')
    writeFileSync(path, 'export const x = 1\n')
    const cli = io(['start', '--app', path, '--http', '', '--log-level', 'silent'])
    expect(await runCli(cli)).toBe(2)
    expect(cli.err.join('')).toContain('hint: an app module ends with: export default defineApp({ name, actors, start })')
  })

  it('a module that throws while loading is exit 4, with its message and a hint', async () => {
    const path = join(dir, 'throws.mjs')
    writeFileSync(path, "throw new Error('bad wiring')\n")
    const cli = io(['start', '--app', path, '--http', '', '--log-level', 'silent'])
    expect(await runCli(cli)).toBe(4)
    expect(cli.err.join('')).toContain(`the app module '${path}' threw while loading: bad wiring`)
  })

  it('logs JSON lines when stdout is not a terminal, pretty text (pino-pretty) when it is', () => {
    const json: string[] = []
    createNodeLogger({ logLevel: 'info', name: 'n1', cluster: 'c' }, { write: (t) => json.push(t), tty: false }).error({ err: new Error('kaput') }, 'start failed')
    const line = JSON.parse(json.join('')) as Record<string, any>
    expect(line).toMatchObject({ level: 50, msg: 'start failed', node: 'n1', cluster: 'c', err: { message: 'kaput' } })
    const pretty: string[] = []
    createNodeLogger({ logLevel: 'info', name: 'n1', cluster: 'c' }, { write: (t) => pretty.push(t), tty: true }).error({ err: new Error('kaput') }, 'start failed')
    const text = pretty.join('')
    expect(text).toMatch(/ERROR/)
    expect(text).toContain('start failed')
    // The stack prints as lines of text, not as one JSON string with \n escapes.
    expect(text).toMatch(/\n\s+at /)
    expect(() => JSON.parse(text)).toThrow()
  })
})
