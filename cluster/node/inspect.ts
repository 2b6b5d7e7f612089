/**
 * `troupe status | tree | actor | metrics`: read a running node's introspection API and /metrics
 * over HTTP, or over NATS (`--node <name>`, inspectNats.ts) when its HTTP port is out of reach. Human output on a terminal, JSON otherwise (or with --json), so scripts can pipe it.
 */
import { parseArgs } from 'node:util'
import { defineError } from '../../runtime/index.ts'
import type { ActorSnapshot, NodeStatus, ShardSnapshot } from '../introspection/types.ts'
import { SETTINGS } from './settings.ts'
import type { InspectRequest } from './inspectProtocol.ts'
import { NATS_INSPECT_FLAGS, openNatsTarget, type NatsInspectTarget } from './inspectNats.ts'

export const InspectErrorCodes = {
  /** Nothing answers at the URL (refused, timed out, not HTTP). */
  Unreachable: 'ERR_NODE_UNREACHABLE',
  /** The node answered with an error status (API off, not allowed, bad request). */
  Refused: 'ERR_INSPECT_REFUSED',
  /** No live actor at the path. */
  NoSuchActor: 'ERR_NO_SUCH_ACTOR',
  /** Bad command line. */
  Usage: 'ERR_INSPECT_USAGE',
} as const
export const NodeUnreachableError = defineError(InspectErrorCodes.Unreachable, 'NodeUnreachableError')
export const InspectRefusedError = defineError(InspectErrorCodes.Refused, 'InspectRefusedError')
export const NoSuchActorError = defineError(InspectErrorCodes.NoSuchActor, 'NoSuchActorError')
export const InspectUsageError = defineError(InspectErrorCodes.Usage, 'InspectUsageError')
const ERRORS = {
  [InspectErrorCodes.Unreachable]: NodeUnreachableError,
  [InspectErrorCodes.Refused]: InspectRefusedError,
  [InspectErrorCodes.NoSuchActor]: NoSuchActorError,
  [InspectErrorCodes.Usage]: InspectUsageError,
} as const
type InspectErrorCode = keyof typeof ERRORS

export const INSPECT_COMMANDS = ['status', 'tree', 'actor', 'metrics'] as const
export type InspectCommand = (typeof INSPECT_COMMANDS)[number]

const DEFAULT_URL = `http://${String(SETTINGS.http.default)}`
const REQUEST_TIMEOUT_MS = 5000

export interface InspectIo {
  readonly stdout: (text: string) => void
  readonly tty: boolean
  /** For tests: the fetch to use. Default the global one. */
  readonly fetch?: typeof fetch
  /** Where `TROUPE_*` NATS settings are read from (the NATS way). Default none. */
  readonly env?: NodeJS.ProcessEnv
}

interface Parsed {
  readonly url: string
  readonly json: boolean
  readonly shard: number | undefined
  readonly path: string | undefined
  /** Set: the node is reached over NATS, by this name. */
  readonly node: string | undefined
  readonly natsFlags: Record<string, string | undefined>
  readonly configFile: string | undefined
}

function fail(code: InspectErrorCode, message: string, data: Record<string, unknown> = {}): Error {
  return new ERRORS[code](message, { data })
}

/** Whether an error is one of the inspect commands' own (its message is for the operator as is). */
export function isInspectError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && code in ERRORS
}

const NATS_OPTIONS = Object.fromEntries(Object.keys(NATS_INSPECT_FLAGS).map((flag) => [flag, { type: 'string' as const }]))

function parse(command: InspectCommand, argv: readonly string[]): Parsed {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { url: { type: 'string' }, json: { type: 'boolean' }, shard: { type: 'string' }, node: { type: 'string' }, config: { type: 'string' }, ...NATS_OPTIONS },
    }))
  } catch (error) {
    throw fail(InspectErrorCodes.Usage, `${(error as Error).message}`)
  }
  const shardText = values['shard'] as string | undefined
  if (shardText !== undefined && !/^\d+$/.test(shardText)) throw fail(InspectErrorCodes.Usage, `--shard must be a shard number, got '${shardText}'`)
  if (command === 'actor' && positionals.length !== 1) throw fail(InspectErrorCodes.Usage, 'give one actor path, e.g. troupe actor /user/bank/accounts')
  if (command !== 'actor' && positionals.length > 0) throw fail(InspectErrorCodes.Usage, `unexpected argument '${positionals[0] ?? ''}'`)
  const natsFlags = Object.fromEntries(Object.keys(NATS_INSPECT_FLAGS).map((flag) => [flag, values[flag] as string | undefined]))
  const node = values['node'] as string | undefined
  const natsGiven = Object.values(natsFlags).some((v) => v !== undefined) || values['config'] !== undefined
  if (node === undefined && natsGiven) throw fail(InspectErrorCodes.Usage, 'over NATS, name the node: --node <name> (its --name)')
  if (node !== undefined && values['url'] !== undefined) throw fail(InspectErrorCodes.Usage, 'give either --url (HTTP) or --node (NATS), not both')
  let url = (values['url'] as string | undefined) ?? DEFAULT_URL
  if (!/^https?:\/\//.test(url)) url = `http://${url}`
  try {
    new URL(url)
  } catch {
    throw fail(InspectErrorCodes.Usage, `--url is not a URL: '${url}'`)
  }
  return {
    url: url.replace(/\/+$/, ''),
    json: values['json'] === true,
    shard: shardText === undefined ? undefined : Number(shardText),
    path: positionals[0],
    node,
    natsFlags,
    configFile: values['config'] as string | undefined,
  }
}

async function get(io: InspectIo, url: string, accept: 'json' | 'text'): Promise<unknown> {
  let response: Response
  try {
    response = await (io.fetch ?? fetch)(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name
    throw fail(InspectErrorCodes.Unreachable, `no node answers at ${new URL(url).origin} (${cause}): is it running, and is --url its http setting?`, { url })
  }
  const body = await response.text()
  if (!response.ok) {
    let detail = body
    try {
      const parsed = JSON.parse(body) as { error?: string; hint?: string; code?: string }
      if (parsed.code === InspectErrorCodes.NoSuchActor) throw fail(InspectErrorCodes.NoSuchActor, parsed.error ?? 'no such actor', { url })
      detail = [parsed.error, parsed.hint].filter((part) => part !== undefined).join(': ')
    } catch (error) {
      if (isInspectError(error)) throw error
    }
    throw fail(InspectErrorCodes.Refused, `the node refused ${new URL(url).pathname} (HTTP ${response.status}): ${detail}`, { url, status: response.status })
  }
  if (accept === 'text') return body
  return JSON.parse(body) as unknown
}

/** One way to a node: HTTP (its introspection API and /metrics) or NATS (its introspection subject). */
interface InspectSource {
  fetch(request: InspectRequest): Promise<unknown>
  close(): Promise<void>
}

function httpSource(io: InspectIo, base: string): InspectSource {
  return {
    fetch(request) {
      const shard = request.shard === undefined ? [] : [`shard=${request.shard}`]
      switch (request.op) {
        case 'status':
          return get(io, `${base}/introspect/status`, 'json')
        case 'tree':
          return get(io, `${base}/introspect/tree${shard.length === 0 ? '' : `?${shard[0] as string}`}`, 'json')
        case 'actor':
          return get(io, `${base}/introspect/actor?${[`path=${encodeURIComponent(request.path as string)}`, ...shard].join('&')}`, 'json')
        case 'dead-letters':
          return get(io, `${base}/introspect/dead-letters`, 'json')
        case 'metrics':
          return get(io, `${base}/metrics`, 'text')
      }
    },
    close: async () => {},
  }
}

async function natsSource(args: Parsed, io: InspectIo): Promise<InspectSource> {
  let target: NatsInspectTarget
  try {
    target = await openNatsTarget(args.node as string, args.natsFlags, args.configFile, io.env ?? {})
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_CONFIG') throw fail(InspectErrorCodes.Usage, (error as Error).message)
    throw error
  }
  return {
    async fetch(request) {
      const reply = await target.ask(request, REQUEST_TIMEOUT_MS)
      if (reply.ok) return reply.body
      if (reply.code === InspectErrorCodes.NoSuchActor) throw fail(InspectErrorCodes.NoSuchActor, reply.error, { node: args.node })
      if (reply.code === InspectErrorCodes.Unreachable) throw fail(InspectErrorCodes.Unreachable, reply.error, { node: args.node })
      throw fail(InspectErrorCodes.Refused, `node ${args.node as string} refused ${request.op} over NATS: ${reply.error} (${reply.code})`, { node: args.node, code: reply.code })
    },
    close: () => target.close(),
  }
}

/** Runs one inspect command; throws one of the errors above (stable `code`) on failure. */
export async function runInspect(command: InspectCommand, argv: readonly string[], io: InspectIo): Promise<void> {
  const args = parse(command, argv)
  const asJson = args.json || !io.tty
  const source = args.node === undefined ? httpSource(io, args.url) : await natsSource(args, io)
  try {
    await print(command, args, source, asJson, io)
  } finally {
    await source.close()
  }
}

async function print(command: InspectCommand, args: Parsed, source: InspectSource, asJson: boolean, io: InspectIo): Promise<void> {
  const shard = args.shard === undefined ? {} : { shard: args.shard }
  switch (command) {
    case 'status': {
      const status = (await source.fetch({ op: 'status' })) as NodeStatus
      io.stdout(asJson ? `${JSON.stringify(status)}\n` : formatStatus(status))
      return
    }
    case 'tree': {
      const { shards } = (await source.fetch({ op: 'tree', ...shard })) as { shards: ShardSnapshot[] }
      io.stdout(asJson ? `${JSON.stringify({ shards })}\n` : formatTree(shards))
      return
    }
    case 'actor': {
      const { actors } = (await source.fetch({ op: 'actor', path: args.path as string, ...shard })) as { actors: ActorSnapshot[] }
      io.stdout(asJson ? `${JSON.stringify({ actors })}\n` : actors.map(formatActor).join('\n'))
      return
    }
    case 'metrics': {
      const text = (await source.fetch({ op: 'metrics' })) as string
      io.stdout(asJson ? `${JSON.stringify(parseExposition(text))}\n` : `${text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).join('\n')}\n`)
      return
    }
  }
}

function formatStatus(status: NodeStatus): string {
  const lines = [
    `node     ${status.node} (cluster ${status.cluster}, app ${status.app}, troupe ${status.version}, pid ${status.pid})`,
    `uptime   ${Math.round(status.uptimeMs / 1000)} s`,
    `state    ${status.ready ? 'ready' : `not ready: ${status.reasons.join(', ')}`}`,
    '',
    'shard  state  actors  mailboxes  dead letters',
    ...status.shards.map((s) => `${String(s.shard).padEnd(6)} ${s.state.padEnd(6)} ${String(s.actors).padStart(6)} ${String(s.mailboxTotal).padStart(10)} ${String(s.deadLetters).padStart(13)}`),
  ]
  return `${lines.join('\n')}\n`
}

function actorLine(actor: ActorSnapshot): string {
  const extras = [
    actor.status === 'running' ? null : actor.status,
    actor.mailbox > 0 ? `mailbox ${actor.mailbox}` : null,
    actor.rate > 0 ? `${actor.rate}/s` : null,
    actor.restarts > 0 ? `restarts ${actor.restarts}` : null,
    actor.lastFailure === null ? null : `last failure ${actor.lastFailure.name}`,
  ].filter((part) => part !== null)
  return `${actor.name} (${actor.type})${extras.length === 0 ? '' : `  ${extras.join(', ')}`}`
}

function formatTree(shards: readonly ShardSnapshot[]): string {
  const lines: string[] = []
  const walk = (actors: readonly ActorSnapshot[], prefix: string): void => {
    actors.forEach((actor, index) => {
      const last = index === actors.length - 1
      lines.push(`${prefix}${last ? '└── ' : '├── '}${actorLine(actor)}`)
      walk(actor.children, `${prefix}${last ? '    ' : '│   '}`)
    })
  }
  for (const shard of shards) {
    lines.push(`shard ${shard.shard} (${shard.state}, ${shard.actors} actors${shard.truncated ? ', cut short' : ''})`)
    walk(shard.tree, '')
  }
  return `${lines.join('\n')}\n`
}

function formatActor(actor: ActorSnapshot): string {
  const failure = actor.lastFailure
  return `${[
    `path        ${actor.path} (shard ${actor.shard})`,
    `type        ${actor.type}`,
    `status      ${actor.status}`,
    `mailbox     ${actor.mailbox}${actor.stashed > 0 ? ` (+${actor.stashed} stashed)` : ''}`,
    `processed   ${actor.processed} (${actor.rate}/s)`,
    `restarts    ${actor.restarts}`,
    `last fail   ${failure === null ? 'none' : `${failure.name}${failure.code === undefined ? '' : ` [${failure.code}]`}: ${failure.message}${failure.method === undefined ? '' : ` in ${failure.method}`}, ${Math.round(failure.agoMs / 1000)} s ago`}`,
    `children    ${actor.childCount === 0 ? 'none' : actor.children.map((child) => `${child.name} (${child.type})`).join(', ')}`,
  ].join('\n')}\n`
}

/** Prometheus text → `{ name, type, help, samples: [{ name, labels, value }] }` per family. */
export function parseExposition(text: string): { name: string; type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }[] {
  const families = new Map<string, { name: string; type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }>()
  const family = (name: string) => {
    let entry = families.get(name)
    if (entry === undefined) {
      entry = { name, type: 'untyped', help: '', samples: [] }
      families.set(name, entry)
    }
    return entry
  }
  let current: string | null = null
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
    if (meta !== null) {
      const entry = family(meta[2] as string)
      current = entry.name
      if (meta[1] === 'HELP') entry.help = meta[3] ?? ''
      else entry.type = meta[3] ?? 'untyped'
      continue
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (sample === null) continue
    const name = sample[1] as string
    const labels: Record<string, string> = {}
    for (const match of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    const owner = current !== null && name.startsWith(current) ? current : name
    family(owner).samples.push({ name, labels, value: Number(sample[3]) })
  }
  return [...families.values()]
}
