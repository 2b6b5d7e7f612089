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
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

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
