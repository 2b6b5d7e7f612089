import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from './Config.ts'

/**
 * A member's durable identity on disk, under `<dataDir>/<cluster>/<name>/`: the incarnation counter
 * (one more on every start, written and fsynced before the node joins, so a restarted node never
 * reuses a downed incarnation) and the names of the members it last knew (where a restarted node
 * without seeds asks to join). Each incarnation is a fresh Raft server with its own log directory
 * (`raft-<incarnation>`); at start the previous incarnation's is kept (a lone member recovers its
 * state from it: loneRecovery.ts) until `dropPreviousRaft`, older ones are removed.
 */
export interface ClusterIdentity {
  readonly dir: string
  readonly incarnation: number
  /** Nodes (names, this one excluded) this node knew as members in its previous run. */
  readonly knownMembers: readonly string[]
  /** Whether an earlier run of this node existed (its data dir had a counter). */
  readonly restarted: boolean
  readonly raftDir: string
  /** The previous incarnation's Raft directory, when it is still there. */
  readonly previousRaftDir: string | null
}

const COUNTER = 'incarnation'
const MEMBERS = 'members.json'

/** Reads and bumps the incarnation counter; throws ConfigError when the directory cannot be used. */
export function openClusterIdentity(dataDir: string, cluster: string, name: string): ClusterIdentity {
  const dir = join(dataDir, cluster, name)
  let previous = 0
  try {
    mkdirSync(dir, { recursive: true })
    const text = readOptional(join(dir, COUNTER))
    if (text !== null) {
      previous = Number(text.trim())
      if (!Number.isSafeInteger(previous) || previous < 0) throw new Error(`${join(dir, COUNTER)} holds '${text.trim()}', not an incarnation number`)
    }
    const incarnation = previous + 1
    writeDurably(join(dir, COUNTER), `${incarnation}\n`)
    // Earlier incarnations' Raft logs belong to servers that are gone for good (the last one is read first, when lone).
    const keep = new Set([`raft-${incarnation}`, `raft-${previous}`])
    for (const entry of readdirSync(dir)) if (/^raft-\d+$/.test(entry) && !keep.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true })
    const previousRaftDir = previous > 0 && existsSync(join(dir, `raft-${previous}`)) ? join(dir, `raft-${previous}`) : null
    return { dir, incarnation, knownMembers: readKnownMembers(dir, name), restarted: previous > 0, raftDir: join(dir, `raft-${incarnation}`), previousRaftDir }
  } catch (error) {
    const problem = `dataDir: cannot use '${dir}' for the cluster state (${(error as Error).message})`
    throw new ConfigError(problem, { cause: error, data: { problems: [problem] } })
  }
}

/** Removes the previous incarnation's Raft directory (once its state was recovered, or not needed). */
export function dropPreviousRaft(identity: ClusterIdentity): void {
  if (identity.previousRaftDir !== null) rmSync(identity.previousRaftDir, { recursive: true, force: true })
}

/** Remembers the member names (best effort: a failed write only loses the hint for the next start). */
export function saveKnownMembers(dir: string, names: readonly string[]): void {
  try {
    writeDurably(join(dir, MEMBERS), `${JSON.stringify([...names].sort())}\n`)
  } catch {
    // The next start falls back to its seeds.
  }
}

function readKnownMembers(dir: string, self: string): string[] {
  const text = readOptional(join(dir, MEMBERS))
  if (text === null) return []
  try {
    const parsed = JSON.parse(text) as unknown
    return Array.isArray(parsed) ? parsed.filter((n): n is string => typeof n === 'string' && /^[A-Za-z0-9_-]+$/.test(n) && n !== self) : []
  } catch {
    return []
  }
}

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null
    throw error
  }
}

/** Write to a temporary file, fsync, rename: a crash leaves the old or the new content, never a torn one. */
function writeDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}
