/**
 * The service ladder for Redis and PostgreSQL (GUIDE rule 16), on the model of services.ts (NATS):
 *   1. REDIS_URL / DATABASE_URL, when set;
 *   2. else a local `redis-server` / `postgres` (+ `initdb`) binary, started on a free port in a temp
 *      dir, with halt / crash / resume controls so tests can kill a server and bring it back;
 *   3. else the run fails with one message saying what to install. Never skipped.
 * Servers on the machine's default ports (6379, 5432) may exist, but the ladder never assumes them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { Redis } from 'ioredis'
import pg from 'pg'
import { freePort } from './services.ts'

export interface DataService {
  readonly url: string
  readonly source: 'env' | 'binary'
  stop(): Promise<void>
}

export const REDIS_MISSING_MESSAGE = [
  'Integration tests need a Redis server and none was found. Do one of:',
  '  - set REDIS_URL=redis://127.0.0.1:6379 to use a running server;',
  '  - install the redis-server binary on PATH (Debian/Ubuntu: `apt-get install redis-server`).',
].join('\n')

export const POSTGRES_MISSING_MESSAGE = [
  'Integration tests need a PostgreSQL server and none was found. Do one of:',
  '  - set DATABASE_URL=postgres://user@127.0.0.1:5432/test to use a running server;',
  '  - install PostgreSQL so that `initdb` and `postgres` are on PATH or in /usr/local/bin',
  '    (Debian/Ubuntu: `apt-get install postgresql`, then link /usr/lib/postgresql/<v>/bin/{initdb,postgres}).',
].join('\n')

/** An executable by name: PATH first, then the usual system locations. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/usr/local/sbin']
  for (const dir of dirs) {
    if (dir.length === 0) continue
    const candidate = join(dir, name)
    if (existsSync(candidate)) return candidate
  }
  return null
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves once a Redis server at `url` answers PING; rejects after `timeoutMs`. */
export async function waitForRedis(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown = null
  while (performance.now() < deadline) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1000 })
    client.on('error', () => {})
    try {
      await client.connect()
      if ((await client.ping()) === 'PONG') return
    } catch (error) {
      lastError = error
    } finally {
      client.disconnect()
    }
    await pause(50)
  }
  throw new Error(`no Redis server answered at ${url} within ${timeoutMs} ms: ${String(lastError)}`)
}

/** Resolves once PostgreSQL at `url` accepts a connection and answers a query. */
export async function waitForPostgres(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  let lastError: unknown = null
  while (performance.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('select 1')
      await client.end()
      return
    } catch (error) {
      lastError = error
      await client.end().catch(() => {})
    }
    await pause(100)
  }
  throw new Error(`no PostgreSQL server answered at ${url} within ${timeoutMs} ms: ${String(lastError)}`)
}

/**
 * A child process the run owns, restartable on the same port and data dir. Shared by both servers:
 * only how to spawn it and how to tell it is ready differ.
 */
abstract class LocalServer implements DataService {
  readonly source = 'binary' as const
  readonly port: number
  readonly dataDir: string
  private child: ChildProcess | null = null
  private output = ''

  protected constructor(port: number, dataDir: string) {
    this.port = port
    this.dataDir = dataDir
  }

  abstract get url(): string
  protected abstract command(): { file: string; args: string[] }
  protected abstract ready(): Promise<void>

  get running(): boolean {
    return this.child !== null
  }

  /** Starts the process (again) on the same port and data dir. */
  async resume(): Promise<void> {
    if (this.child !== null) return
    this.output = ''
    const { file, args } = this.command()
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    const keep = (chunk: Buffer): void => {
      if (this.output.length < 20_000) this.output += chunk.toString()
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    const exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`${file} exited early (${code ?? signal}): ${this.output.trim().slice(-2000)}`)))
      child.once('error', reject)
    })
    exited.catch(() => {})
    try {
      await Promise.race([this.ready(), exited])
    } catch (error) {
      await this.halt()
      throw error
    }
    child.once('exit', () => {
      if (this.child === child) this.child = null
    })
  }

  /** SIGTERM (clean shutdown), keeping the data dir for `resume()`. */
  halt(): Promise<void> {
    return this.signal('SIGTERM')
  }

  /** SIGKILL: no goodbye to clients, nothing flushed; the data dir stays for `resume()`. */
  crash(): Promise<void> {
    return this.signal('SIGKILL')
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === null) return
    this.child = null
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill(signal)
    const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(killTimer)
  }

  async stop(): Promise<void> {
    await this.halt()
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** A redis-server the run owns: no persistence, bound to 127.0.0.1 on a free port. */
export class LocalRedisServer extends LocalServer {
  readonly binary: string

  private constructor(binary: string, port: number, dataDir: string) {
    super(port, dataDir)
    this.binary = binary
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  static async start(options: { binary?: string } = {}): Promise<LocalRedisServer> {
    const binary = options.binary ?? findBinary('redis-server')
    if (binary === null) throw new Error(REDIS_MISSING_MESSAGE)
    return startWithRetries(async () => new LocalRedisServer(binary, await freePort(), mkdtempSync(join(tmpdir(), 'troupe-redis-'))))
  }

  protected command(): { file: string; args: string[] } {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dataDir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no']
    return { file: this.binary, args }
  }

  protected ready(): Promise<void> {
    return waitForRedis(this.url)
  }
}

/**
 * A PostgreSQL cluster the run owns: `initdb` into a temp dir, then `postgres` on a free port with
 * fsync off (test data need not survive a power cut). PostgreSQL refuses to run as root, so when the
 * run is root (CI) both commands run as the `postgres` user (or TROUPE_PG_USER) via `setpriv`.
 */
export class LocalPostgresServer extends LocalServer {
  readonly binDir: string
  private readonly runAs: string | null

  private constructor(binDir: string, port: number, dataDir: string, runAs: string | null) {
    super(port, dataDir)
    this.binDir = binDir
    this.runAs = runAs
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`
  }

  static async start(): Promise<LocalPostgresServer> {
    const initdb = findBinary('initdb')
    const postgres = findBinary('postgres')
    if (initdb === null || postgres === null) throw new Error(POSTGRES_MISSING_MESSAGE)
    const runAs = process.getuid?.() === 0 ? (process.env['TROUPE_PG_USER'] ?? 'postgres') : null
    return startWithRetries(async () => {
      // The parent dir is world-traversable (tmpdir); the cluster dir itself belongs to the server's user.
      const root = mkdtempSync(join(tmpdir(), 'troupe-pg-'))
      const server = new LocalPostgresServer(join(postgres, '..'), await freePort(), root, runAs)
      server.initialise(initdb)
      return server
    })
  }

  private ownerIds: { uid: number; gid: number } | null = null

  private owner(): { uid: number; gid: number } | null {
    if (this.runAs === null) return null
    if (this.ownerIds === null) {
      const id = (flag: string): number => Number(spawnSync('id', [flag, this.runAs as string], { encoding: 'utf8' }).stdout.trim())
      this.ownerIds = { uid: id('-u'), gid: id('-g') }
    }
    return this.ownerIds
  }

  /**
   * As the unprivileged user via `setpriv`, which execs (no parent left in between), so the pid we
   * hold is postgres itself and crash() really kills it. `runuser` would stay as the parent and
   * take the SIGKILL in postgres's place.
   */
  private wrap(file: string, args: string[]): { file: string; args: string[] } {
    const owner = this.owner()
    if (owner === null) return { file, args }
    return { file: 'setpriv', args: [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', file, ...args] }
  }

  private initialise(initdb: string): void {
    const owner = this.owner()
    if (owner !== null) {
      if (!Number.isInteger(owner.uid) || owner.uid <= 0) throw new Error(`cannot run PostgreSQL as root and no user '${this.runAs}' exists; set TROUPE_PG_USER\n${POSTGRES_MISSING_MESSAGE}`)
      chownSync(this.dataDir, owner.uid, owner.gid)
    }
    const { file, args } = this.wrap(initdb, ['-D', join(this.dataDir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
    const result = spawnSync(file, args, { encoding: 'utf8' })
    if (result.status !== 0) throw new Error(`initdb failed (${result.status ?? result.signal}): ${result.stderr || result.stdout || String(result.error)}`)
  }

  protected command(): { file: string; args: string[] } {
    const args = [
      '-D', join(this.dataDir, 'data'),
      '-p', String(this.port),
      '-k', this.dataDir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
    ]
    return this.wrap(join(this.binDir, 'postgres'), args)
  }

  protected ready(): Promise<void> {
    return waitForPostgres(this.url)
  }
}

async function startWithRetries<S extends LocalServer>(make: () => Promise<S>): Promise<S> {
  let lastError: unknown = null
  // A free port can be taken between the probe and the bind; a fresh port usually cures it.
  for (let attempt = 0; attempt < 3; attempt++) {
    let server: S | null = null
    try {
      server = await make()
      await server.resume()
      return server
    } catch (error) {
      lastError = error
      await server?.stop()
    }
  }
  throw lastError as Error
}

/** Walks the Redis ladder. Throws (never skips) when no rung gives a server. */
export async function provideRedis(): Promise<DataService> {
  const fromEnv = process.env['REDIS_URL']
  if (fromEnv !== undefined && fromEnv.length > 0) {
    await waitForRedis(fromEnv)
    return { url: fromEnv, source: 'env', stop: () => Promise.resolve() }
  }
  if (findBinary('redis-server') !== null) return LocalRedisServer.start()
  throw new Error(REDIS_MISSING_MESSAGE)
}

/** Walks the PostgreSQL ladder. Throws (never skips) when no rung gives a server. */
export async function providePostgres(): Promise<DataService> {
  const fromEnv = process.env['DATABASE_URL']
  if (fromEnv !== undefined && fromEnv.length > 0) {
    await waitForPostgres(fromEnv)
    return { url: fromEnv, source: 'env', stop: () => Promise.resolve() }
  }
  if (findBinary('initdb') !== null && findBinary('postgres') !== null) return LocalPostgresServer.start()
  throw new Error(POSTGRES_MISSING_MESSAGE)
}

/** A Redis key prefix no other test (or concurrent run) uses; ends with ':'. */
export function uniqueRedisPrefix(label = 't'): string {
  return `troupe-test:${label}-${randomUUID().slice(0, 8)}:`
}

/** A PostgreSQL schema name no other test uses (lower-case identifier, safe unquoted). */
export function uniqueSchema(label = 't'): string {
  return `${label.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_${randomUUID().slice(0, 8)}`
}
