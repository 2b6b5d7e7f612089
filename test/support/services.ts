/**
 * The service ladder for integration tests (GUIDE rule 16): the NATS server comes from
 *   1. NATS_URL, when set (CI or a developer pointing at a server of their own);
 *   2. else a local `nats-server` binary, started on a free port with JetStream in a temp dir;
 *   3. else testcontainers, when Docker answers and the `testcontainers` package is installed
 *      (not a dependency: `npm i -D testcontainers` to use this rung);
 *   4. else the run fails with one message saying what to install. Nothing is skipped silently.
 * A NATS server on 127.0.0.1:4222 may exist on a machine, but the ladder never assumes it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface NatsService {
  readonly url: string
  /** Where it came from, for the run's log. */
  readonly source: 'env' | 'binary' | 'container'
  stop(): Promise<void>
}

export const NATS_MISSING_MESSAGE = [
  'Integration tests need a NATS server and none was found. Do one of:',
  '  - set NATS_URL=nats://127.0.0.1:4222 to use a running server;',
  '  - install the nats-server binary on PATH (Debian/Ubuntu: `apt-get install nats-server`);',
  '  - run Docker and `npm i -D testcontainers` (the ladder then starts the `nats` image).',
].join('\n')

/** The nats-server executable: PATH first, then the usual system locations. */
export function findNatsServerBinary(): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin']
  for (const dir of dirs) {
    if (dir.length === 0) continue
    const candidate = join(dir, 'nats-server')
    if (existsSync(candidate)) return candidate
  }
  return null
}

/** A port nobody listens on right now (a tiny race with other processes remains; start retries). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/** Resolves once something on host:port answers with a NATS INFO line; rejects after `timeoutMs`. */
export async function waitForNats(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown = null
  while (performance.now() < deadline) {
    try {
      await probe(host, port)
      return
    } catch (error) {
      lastError = error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  throw new Error(`no NATS server answered on ${host}:${port} within ${timeoutMs} ms: ${String(lastError)}`)
}

function probe(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket()
    const fail = (error: Error): void => {
      socket.destroy()
      reject(error)
    }
    socket.setTimeout(1000, () => fail(new Error('timeout')))
    socket.once('error', fail)
    socket.once('data', (data) => {
      socket.destroy()
      if (data.toString('latin1').startsWith('INFO ')) resolve()
      else reject(new Error('not a NATS server'))
    })
    socket.connect(port, host)
  })
}

/** A nats-server process this test run owns: it can be stopped and started again on the same port. */
export class LocalNatsServer implements NatsService {
  readonly source = 'binary' as const
  readonly binary: string
  readonly port: number
  readonly storeDir: string
  /** The configuration file the server runs with (written into storeDir), or null for flags only. */
  readonly configFile: string | null
  private readonly env: Readonly<Record<string, string>>
  private child: ChildProcess | null = null
  private stderr = ''

  private constructor(binary: string, port: number, storeDir: string, config: string | undefined, env: Readonly<Record<string, string>>) {
    this.binary = binary
    this.port = port
    this.storeDir = storeDir
    this.env = env
    if (config === undefined) {
      this.configFile = null
    } else {
      this.configFile = join(storeDir, 'nats-server.conf')
      writeFileSync(this.configFile, config, { mode: 0o600 })
    }
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.child !== null
  }

  /**
   * Starts a server on a free port: with JetStream, or with `config` (nats-server configuration
   * text, e.g. an `authorization` block; host and port still come from flags) and `env` (variables
   * the configuration references as `$NAME`). Throws NATS_MISSING_MESSAGE when there is no binary.
   */
  static async start(options: { binary?: string; config?: string; env?: Readonly<Record<string, string>> } = {}): Promise<LocalNatsServer> {
    const binary = options.binary ?? findNatsServerBinary()
    if (binary === null) throw new Error(NATS_MISSING_MESSAGE)
    let lastError: unknown = null
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new LocalNatsServer(binary, await freePort(), mkdtempSync(join(tmpdir(), 'troupe-nats-')), options.config, options.env ?? {})
      try {
        await server.resume()
        return server
      } catch (error) {
        lastError = error
        await server.stop()
      }
    }
    throw lastError as Error
  }

  /** Starts the process (again) on the same port and store. */
  async resume(): Promise<void> {
    if (this.child !== null) return
    this.stderr = ''
    const mode = this.configFile === null ? ['-js', '-sd', this.storeDir] : ['-c', this.configFile]
    const child = spawn(this.binary, [...mode, '-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...this.env },
    })
    this.child = child
    child.stderr?.on('data', (chunk: Buffer) => {
      if (this.stderr.length < 20_000) this.stderr += chunk.toString()
    })
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`nats-server exited early (${code ?? signal}): ${this.stderr.trim()}`)))
      child.once('error', reject)
    })
    exited.catch(() => {})
    try {
      await Promise.race([waitForNats('127.0.0.1', this.port), exited])
    } catch (error) {
      await this.halt()
      throw error
    }
    child.once('exit', () => {
      if (this.child === child) this.child = null
    })
  }

  /** Stops the process but keeps the store, so `resume()` can bring the same server back. */
  async halt(): Promise<void> {
    const child = this.child
    if (child === null) return
    this.child = null
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killTimer)
  }

  /** Kills the process with SIGKILL (no goodbye to clients, nothing flushed), keeping the store for `resume()`. */
  async crash(): Promise<void> {
    const child = this.child
    if (child === null) return
    this.child = null
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    await this.halt()
    rmSync(this.storeDir, { recursive: true, force: true })
  }
}

function dockerAvailable(): boolean {
  const result = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 5000 })
  return result.status === 0 && result.stdout.trim().length > 0
}

/** Rung 3. Untested here (no Docker daemon on the development machine); kept behind a dynamic import. */
async function startContainer(): Promise<NatsService | null> {
  if (!dockerAvailable()) return null
  const moduleName = 'testcontainers'
  let testcontainers: any
  try {
    testcontainers = await import(moduleName)
  } catch {
    return null
  }
  const container = await new testcontainers.GenericContainer('nats:2.10-alpine').withCommand(['-js']).withExposedPorts(4222).start()
  return {
    url: `nats://${container.getHost() as string}:${container.getMappedPort(4222) as number}`,
    source: 'container',
    stop: async () => {
      await container.stop()
    },
  }
}

/** Walks the ladder. Throws (never skips) when no rung gives a server. */
export async function provideNats(): Promise<NatsService> {
  const fromEnv = process.env['NATS_URL']
  if (fromEnv !== undefined && fromEnv.length > 0) {
    const url = new URL(fromEnv.includes('://') ? fromEnv : `nats://${fromEnv}`)
    await waitForNats(url.hostname, Number(url.port || 4222))
    return { url: fromEnv, source: 'env', stop: () => Promise.resolve() }
  }
  if (findNatsServerBinary() !== null) return LocalNatsServer.start()
  const container = await startContainer()
  if (container !== null) return container
  throw new Error(NATS_MISSING_MESSAGE)
}

/** A cluster name no other test (or concurrent run) uses: subjects are scoped by it. */
export function uniqueCluster(label = 't'): string {
  return `${label}-${randomUUID().slice(0, 8)}`
}

/**
 * A Python 3 that can `import msgpack`, for the language-neutral protocol test. The ladder:
 *   1. TROUPE_PYTHON, when set (an interpreter of the developer's choosing; it must import msgpack);
 *   2. else `/usr/bin/python3` or `python3` on PATH that already imports msgpack;
 *   3. else Debian's python3-msgpack unpacked into a project-local directory
 *      (node_modules/.cache/troupe-python): `apt-get download` + `dpkg-deb -x`, no root and no
 *      change to the system's Python; as root with stale package lists, `apt-get update` first.
 *      The package's pure-Python fallback runs on any Python 3, its C extension on Debian's;
 *   4. else a failure that says what to install. Never a skip.
 */
export interface PythonWithMsgpack {
  readonly python: string
  /** Extra environment (PYTHONPATH) the interpreter needs to find msgpack. */
  readonly env: Readonly<Record<string, string>>
  readonly source: 'env' | 'system' | 'project-cache'
}

export const PYTHON_MISSING_MESSAGE = [
  'The Python client test needs python3 with the msgpack module, and none could be provided. Do one of:',
  '  - Debian/Ubuntu: `apt-get install python3 python3-msgpack`;',
  '  - `pip install msgpack` for a python3 and point TROUPE_PYTHON at it;',
  '  - make `apt-get download python3-msgpack` work (the test unpacks it into node_modules/.cache/troupe-python).',
].join('\n')

const PYTHON_CACHE = fileURLToPath(new URL('../../node_modules/.cache/troupe-python', import.meta.url))

function importsMsgpack(python: string, env: Readonly<Record<string, string>> = {}): boolean {
  if (python.startsWith('/') && !existsSync(python)) return false
  const probe = spawnSync(python, ['-c', 'import msgpack'], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 })
  return probe.status === 0
}

/** Interpreters to try, Debian's first: its python3-msgpack matches Debian's interpreter, not a pyenv one. */
function pythonCandidates(): string[] {
  return ['/usr/bin/python3', 'python3'].filter((candidate) => !candidate.startsWith('/') || existsSync(candidate))
}

/** The unpacked package's site directory, when the cache holds one. */
function cachedSiteDir(): string | null {
  const site = join(PYTHON_CACHE, 'root', 'usr', 'lib', 'python3', 'dist-packages')
  return existsSync(join(site, 'msgpack', '__init__.py')) ? site : null
}

function run(command: string, args: readonly string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(command, [...args], { cwd, encoding: 'utf8', timeout: 120_000 })
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}` }
}

/** Rung 3: apt-get download + dpkg-deb -x into the project cache. Returns the site dir, or the reason it failed. */
function unpackDebianMsgpack(): { site: string } | { failure: string } {
  if (spawnSync('apt-get', ['--version']).status !== 0 || spawnSync('dpkg-deb', ['--version']).status !== 0) {
    return { failure: 'apt-get/dpkg-deb not found' }
  }
  const downloads = join(PYTHON_CACHE, 'debs')
  rmSync(downloads, { recursive: true, force: true })
  mkdirSync(downloads, { recursive: true })
  let download = run('apt-get', ['download', 'python3-msgpack'], downloads)
  if (!download.ok && process.getuid?.() === 0) {
    // A fresh machine may have no package lists yet: refresh them (root only) and try once more.
    run('apt-get', ['update'], downloads)
    download = run('apt-get', ['download', 'python3-msgpack'], downloads)
  }
  const deb = readdirSync(downloads).find((file) => file.endsWith('.deb'))
  if (!download.ok || deb === undefined) return { failure: `apt-get download python3-msgpack failed: ${download.output.trim().slice(-500)}` }
  const root = join(PYTHON_CACHE, 'root')
  rmSync(root, { recursive: true, force: true })
  const unpack = run('dpkg-deb', ['-x', join(downloads, deb), root], downloads)
  if (!unpack.ok) return { failure: `dpkg-deb -x failed: ${unpack.output.trim().slice(-500)}` }
  const site = cachedSiteDir()
  return site === null ? { failure: `${deb} holds no msgpack package` } : { site }
}

/** Walks the ladder. Throws PYTHON_MISSING_MESSAGE (with what each rung found) when no rung gives one. */
export function providePythonMsgpack(): PythonWithMsgpack {
  const tried: string[] = []
  const explicit = process.env['TROUPE_PYTHON']
  if (explicit !== undefined && explicit !== '') {
    if (importsMsgpack(explicit)) return { python: explicit, env: {}, source: 'env' }
    throw new Error(`TROUPE_PYTHON=${explicit} cannot import msgpack.\n${PYTHON_MISSING_MESSAGE}`)
  }
  const candidates = pythonCandidates()
  if (candidates.length === 0) throw new Error(`no python3 found (tried /usr/bin/python3 and PATH).\n${PYTHON_MISSING_MESSAGE}`)
  for (const python of candidates) {
    if (importsMsgpack(python)) return { python, env: {}, source: 'system' }
  }
  tried.push(`${candidates.join(', ')}: no msgpack module`)
  let site = cachedSiteDir()
  if (site === null) {
    const unpacked = unpackDebianMsgpack()
    if ('failure' in unpacked) tried.push(unpacked.failure)
    else site = unpacked.site
  }
  if (site !== null) {
    const env = { PYTHONPATH: [site, process.env['PYTHONPATH']].filter((part) => part !== undefined && part !== '').join(delimiter) }
    for (const python of candidates) {
      if (importsMsgpack(python, env)) return { python, env, source: 'project-cache' }
    }
    tried.push(`${site}: no candidate interpreter imports msgpack from it`)
  }
  throw new Error(`${PYTHON_MISSING_MESSAGE}\nTried: ${tried.join('; ')}`)
}
