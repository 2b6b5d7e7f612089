/**
 * The Kafka ladder for tests and the kafka bench (GUIDE rule 16):
 *   1. KAFKA_BROKERS, when set (a real broker: the tests then run against it);
 *   2. else librdkafka's mock cluster through our launcher (mockCluster.c), built with gcc against
 *      Debian's librdkafka-dev into a cache dir — the suite installs librdkafka-dev itself when
 *      missing and running as root (apt-get, as test/support/chromium.ts does for Chromium);
 *   3. else one clear failure saying what to install. Never skipped.
 * Tests that inject faults (errors, broker down/up) always start a mock of their own.
 *
 * The real client (@confluentinc/kafka-javascript, librdkafka's node binding) is not a dependency
 * of the project: `npm ci` must not spend minutes compiling librdkafka. It is built once, from
 * source, into ~/.cache/troupe/kafka-javascript-<version> and loaded from there.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const KAFKA_JS_VERSION = '1.10.1'
const CACHE = process.env['TROUPE_CACHE_DIR'] ?? join(homedir(), '.cache', 'troupe')
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'mockCluster.c')

export const KAFKA_MISSING_MESSAGE = [
  'Kafka tests need a Kafka peer and none could be made. Do one of:',
  '  - set KAFKA_BROKERS=host:9092 to use a running broker;',
  '  - install gcc and Debian’s librdkafka-dev (apt-get install gcc librdkafka-dev): the suite then',
  '    builds test/support/kafka/mockCluster.c and runs librdkafka’s mock cluster.',
].join('\n')

function aptInstall(pkg: string): void {
  if (process.getuid?.() !== 0) return
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env, timeout: 600_000 })
  } catch {
    // The package list may be missing on a fresh machine: fetch it once, then try again.
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 600_000 })
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env, timeout: 600_000 })
  }
}

/** The launcher binary, built once per source version into the cache. */
export function mockLauncherPath(): string {
  const source = readFileSync(SOURCE)
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12)
  const binary = join(CACHE, `kafka-mock-${hash}`, 'mockCluster')
  if (existsSync(binary)) return binary
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) aptInstall('librdkafka-dev')
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) throw new Error(KAFKA_MISSING_MESSAGE)
  mkdirSync(dirname(binary), { recursive: true })
  const built = spawnSync('gcc', ['-O2', '-o', binary, SOURCE, '-lrdkafka'], { encoding: 'utf8' })
  if (built.status !== 0) throw new Error(`${KAFKA_MISSING_MESSAGE}\n(gcc failed: ${built.error?.message ?? built.stderr})`)
  return binary
}

/** A running mock cluster with its fault controls (rdkafka_mock.h through the launcher's stdin). */
export class MockKafkaCluster {
  readonly bootstrap: string
  private readonly child: ChildProcess
  private readonly replies: ((line: string) => void)[] = []

  private constructor(child: ChildProcess, bootstrap: string, lines: AsyncIterator<string>) {
    this.child = child
    this.bootstrap = bootstrap
    void (async () => {
      for (let next = await lines.next(); next.done !== true; next = await lines.next()) this.replies.shift()?.(next.value)
    })()
  }

  /** Starts a mock of `brokers` brokers with these topics (`name: partitions`). */
  static async start(topics: Readonly<Record<string, number>> = {}, brokers = 1): Promise<MockKafkaCluster> {
    const binary = mockLauncherPath()
    const child = spawn(binary, [String(brokers), ...Object.entries(topics).map(([t, p]) => `${t}:${p}`)], { stdio: ['pipe', 'pipe', 'ignore'] })
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    const first = await Promise.race([lines.next(), new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`mock cluster exited (${code}) before it started`))))])
    const line = String(first.value ?? '')
    if (!line.startsWith('BOOTSTRAP ')) throw new Error(`mock cluster said ${JSON.stringify(line)} instead of its bootstrap address`)
    return new MockKafkaCluster(child, line.slice('BOOTSTRAP '.length).trim(), lines)
  }

  /** Sends one launcher command and waits for its OK. */
  command(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.replies.push((reply) => (reply === 'OK' ? resolve() : reject(new Error(`mock cluster refused '${line}': ${reply}`))))
      this.child.stdin?.write(`${line}\n`)
    })
  }

  /** The next `count` requests of Kafka API `apiKey` fail with `error` (a Kafka protocol error code). */
  failRequests(apiKey: number, count: number, error: number): Promise<void> {
    return this.command(`errors ${apiKey} ${count} ${error}`)
  }

  brokerDown(id = 1): Promise<void> {
    return this.command(`down ${id}`)
  }

  brokerUp(id = 1): Promise<void> {
    return this.command(`up ${id}`)
  }

  createTopic(name: string, partitions: number): Promise<void> {
    return this.command(`topic ${name} ${partitions}`)
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.stdin?.end('quit\n')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

/** Kafka API keys used by fault injection (Kafka protocol). */
export const ApiKeys = { Produce: 0, Fetch: 1, OffsetCommit: 8, OffsetFetch: 9, FindCoordinator: 10, JoinGroup: 11, Heartbeat: 12, InitProducerId: 22, AddPartitionsToTxn: 24, EndTxn: 26, TxnOffsetCommit: 28 } as const
/** Kafka protocol error codes used by fault injection. */
export const KafkaProtocolErrors = { NotLeader: 6, RequestTimedOut: 7, NotCoordinator: 16, CoordinatorNotAvailable: 15, RebalanceInProgress: 27, GroupAuthorizationFailed: 30, MessageTooLarge: 10, TopicAuthorizationFailed: 29, TransactionalIdAuthorizationFailed: 53, ProducerFenced: 90 } as const

export interface KafkaPeer {
  readonly brokers: string
  readonly source: 'env' | 'mock'
  stop(): Promise<void>
}

/** The ladder: KAFKA_BROKERS → the mock launcher → a clear failure. */
export async function provideKafka(topics: Readonly<Record<string, number>> = {}): Promise<KafkaPeer> {
  const env = process.env['KAFKA_BROKERS']
  if (env !== undefined && env !== '') return { brokers: env, source: 'env', stop: async () => {} }
  const mock = await MockKafkaCluster.start(topics)
  return { brokers: mock.bootstrap, source: 'mock', stop: () => mock.stop() }
}

/**
 * The directory whose node_modules holds a built @confluentinc/kafka-javascript: built once from
 * source (librdkafka from its own tarball, linked dynamically; some minutes) and cached.
 */
export function nativeClientDir(): string {
  const dir = join(CACHE, `kafka-javascript-${KAFKA_JS_VERSION}`)
  const marker = join(dir, 'node_modules', '@confluentinc', 'kafka-javascript', 'build', 'Release', 'confluent-kafka-javascript.node')
  if (existsSync(marker)) return dir
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'troupe-kafka-native', private: true }))
  const built = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `@confluentinc/kafka-javascript@${KAFKA_JS_VERSION}`], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CKJS_LINKING: 'dynamic', npm_config_build_from_source: 'true' },
    timeout: 30 * 60_000,
  })
  if (built.status !== 0 || !existsSync(marker)) {
    throw new Error(
      `the Kafka client @confluentinc/kafka-javascript@${KAFKA_JS_VERSION} could not be built in ${dir} (needs npm, a C/C++ toolchain, make, python3): ` +
        `${built.error?.message ?? String(built.stderr).split('\n').slice(-15).join('\n')}`,
    )
  }
  return dir
}
