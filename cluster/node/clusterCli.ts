/**
 * `troupe cluster status|members|leader|leave <node>|down <node>`: a running cluster node's view of
 * the cluster state and the operator's leave/down, over the node's HTTP port (`/cluster`). Human
 * output on a terminal, JSON otherwise (or with --json).
 */
import { parseArgs } from 'node:util'
import { defineError } from '../../runtime/index.ts'
import type { ClusterView } from './ClusterRoutes.ts'
import { SETTINGS } from './settings.ts'

export const ClusterCliErrorCodes = {
  /** Nothing answers at the URL. */
  Unreachable: 'ERR_NODE_UNREACHABLE',
  /** The node runs without cluster state (`--cluster-state raft`). */
  NotClusterNode: 'ERR_NOT_CLUSTER_NODE',
  /** No live member has that name. */
  UnknownMember: 'ERR_CLUSTER_UNKNOWN_MEMBER',
  /** The node refused (API off or not allowed, no quorum, …): the message says which. */
  Refused: 'ERR_CLUSTER_REFUSED',
  Usage: 'ERR_CLUSTER_USAGE',
} as const
const ERRORS: Record<string, ReturnType<typeof defineError>> = {
  [ClusterCliErrorCodes.Unreachable]: defineError(ClusterCliErrorCodes.Unreachable, 'NodeUnreachableError'),
  [ClusterCliErrorCodes.NotClusterNode]: defineError(ClusterCliErrorCodes.NotClusterNode, 'NotClusterNodeError'),
  [ClusterCliErrorCodes.UnknownMember]: defineError(ClusterCliErrorCodes.UnknownMember, 'ClusterUnknownMemberError'),
  [ClusterCliErrorCodes.Refused]: defineError(ClusterCliErrorCodes.Refused, 'ClusterRefusedError'),
  [ClusterCliErrorCodes.Usage]: defineError(ClusterCliErrorCodes.Usage, 'ClusterUsageError'),
}
/** The node's own refusals that pass through as they are (no quorum, quarantined…). */
const passthrough = new Map<string, ReturnType<typeof defineError>>()

export const CLUSTER_SUBCOMMANDS = ['status', 'members', 'leader', 'leave', 'down'] as const
type Sub = (typeof CLUSTER_SUBCOMMANDS)[number]

const REQUEST_TIMEOUT_MS = 5000

export interface ClusterCliIo {
  readonly stdout: (text: string) => void
  readonly tty: boolean
  readonly fetch?: typeof fetch
}

/** A typed failure: `code` is one of ClusterCliErrorCodes (or the node's own code, e.g. ERR_CLUSTER_NO_QUORUM). */
function fail(code: string, message: string): Error {
  let type = ERRORS[code] ?? passthrough.get(code)
  if (type === undefined) {
    if (!/^ERR_[A-Z0-9_]{1,60}$/.test(code)) return fail(ClusterCliErrorCodes.Refused, message)
    type = defineError(code, 'ClusterRefusedError')
    passthrough.set(code, type)
  }
  return new type(message)
}

export function isClusterCliError(error: unknown): error is Error & { code: string } {
  return error instanceof Error && (Object.values(ERRORS).some((t) => error instanceof t) || [...passthrough.values()].some((t) => error instanceof t))
}

/** Runs `troupe cluster …`; throws a ClusterCliError (with the stable `code`) on failure. */
export async function runClusterCli(argv: readonly string[], io: ClusterCliIo): Promise<void> {
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { url: { type: 'string' }, json: { type: 'boolean' } } }))
  } catch (error) {
    throw fail(ClusterCliErrorCodes.Usage, (error as Error).message)
  }
  const [sub, target, ...extra] = positionals
  if (sub === undefined || !(CLUSTER_SUBCOMMANDS as readonly string[]).includes(sub)) throw fail(ClusterCliErrorCodes.Usage, `give one of ${CLUSTER_SUBCOMMANDS.join('|')}, e.g. troupe cluster status`)
  const needsNode = sub === 'leave' || sub === 'down'
  if (needsNode && (target === undefined || extra.length > 0)) throw fail(ClusterCliErrorCodes.Usage, `give one member name: troupe cluster ${sub} <node>`)
  if (!needsNode && target !== undefined) throw fail(ClusterCliErrorCodes.Usage, `unexpected argument '${target}'`)
  let url = (values['url'] as string | undefined) ?? `http://${String(SETTINGS.http.default)}`
  if (!/^https?:\/\//.test(url)) url = `http://${url}`
  try {
    new URL(url)
  } catch {
    throw fail(ClusterCliErrorCodes.Usage, `--url is not a URL: '${url}'`)
  }
  url = url.replace(/\/+$/, '')
  const asJson = values['json'] === true || !io.tty
  const out = (value: unknown, human: string): void => io.stdout(asJson ? `${JSON.stringify(value)}\n` : human)
  if (needsNode) {
    const result = await call(io, `${url}/cluster/${sub}?node=${encodeURIComponent(target as string)}`, 'POST')
    out(result, `${sub === 'leave' ? 'leaving' : 'downed'}: ${target as string}\n`)
    return
  }
  const view = (await call(io, `${url}/cluster`, 'GET')) as ClusterView
  switch (sub as Sub) {
    case 'leader':
      out(view.leader, view.leader === null ? 'no leader known (an election, or this node is cut off from a quorum)\n' : `${view.leader.node}#${view.leader.incarnation}\n`)
      return
    case 'members':
      out(view.members, membersTable(view))
      return
    default:
      out(view, statusText(view))
  }
}

async function call(io: ClusterCliIo, url: string, method: 'GET' | 'POST'): Promise<unknown> {
  let response: Response
  try {
    response = await (io.fetch ?? fetch)(url, { method, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name
    throw fail(ClusterCliErrorCodes.Unreachable, `no node answers at ${new URL(url).origin} (${cause}): is it running, and is --url its http setting?`)
  }
  const text = await response.text()
  let body: Record<string, unknown>
  try {
    body = JSON.parse(text) as Record<string, unknown>
  } catch {
    throw fail(ClusterCliErrorCodes.Refused, `${new URL(url).origin} answered HTTP ${response.status} with something that is not JSON: is it a troupe node?`)
  }
  if (response.ok) return body
  const code = typeof body['code'] === 'string' ? body['code'] : ClusterCliErrorCodes.Refused
  const detail = [body['error'], body['hint']].filter((p) => typeof p === 'string').join(': ')
  if (response.status === 404 && typeof body['code'] !== 'string') throw fail(ClusterCliErrorCodes.NotClusterNode, `${new URL(url).origin} has no /cluster (an older troupe?)`)
  throw fail(code, detail === '' ? `HTTP ${response.status}` : detail)
}

function membersTable(view: ClusterView): string {
  const rows = view.members.map((m) => [`${m.node}#${m.incarnation}`, m.status, m.voter ? 'voter' : '', m.roles.join(',') || '-', m.upNumber === 0 ? '-' : String(m.upNumber), m.httpAddress || '-'])
  const head = ['MEMBER', 'STATUS', 'RAFT', 'ROLES', 'UP#', 'HTTP']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n') + '\n'
}

function statusText(view: ClusterView): string {
  const counts = new Map<string, number>()
  for (const m of view.members) counts.set(m.status, (counts.get(m.status) ?? 0) + 1)
  const leader = view.leader === null ? 'none known' : `${view.leader.node}#${view.leader.incarnation}`
  const lines = [
    `cluster ${view.cluster}: leader ${leader}, epoch ${view.epoch}, applied index ${view.appliedIndex} (term ${view.term})`,
    `this node: ${view.self.node}#${view.self.incarnation}${view.raft === null ? '' : ` (${view.raft.role})`}${view.self.quarantined ? ' QUARANTINED' : ''}`,
    `members: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}`,
    ...view.singletons.map((p) => `singleton ${p.name}${p.role === null ? '' : ` (role ${p.role})`}: ${p.node === null ? 'nowhere (no eligible member)' : `${p.node}#${p.incarnation}`}, fencing (${p.term}, ${p.version})`),
    ...(view.singletonsHere ?? []).filter((s) => s.running).map((s) => `singleton ${s.name} runs here, fencing (${s.token?.term}, ${s.token?.version}), started ${s.starts} time(s) here`),
    `registry keys: ${view.registryKeys ?? 'n/a'}`,
  ]
  return `${lines.join('\n')}\n${membersTable(view)}`
}
