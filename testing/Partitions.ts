import { InvalidArgumentError } from '../runtime/index.ts'

/** A node, or a group of nodes. */
export type Group = string | readonly string[]

/** One cut (a partition, an isolation, a one-way cut): heal it alone, whatever else is cut. */
export interface Cut {
  readonly label: string
  /** Whether `heal()` has run. */
  readonly healed: boolean
  /** Restores exactly the links this cut removed (links another live cut also removes stay cut). */
  heal(): void
}

/**
 * Which directed links are cut, counted per cut: two overlapping partitions each heal on their own
 * schedule, and a link comes back only when no live cut still removes it.
 */
export class LinkCuts {
  /** from -> to -> number of live cuts removing that link. */
  private readonly blocked = new Map<string, Map<string, number>>()
  private pairs = 0

  get any(): boolean {
    return this.pairs > 0
  }

  isBlocked(from: string, to: string): boolean {
    if (this.pairs === 0) return false
    return (this.blocked.get(from)?.get(to) ?? 0) > 0
  }

  /** Adds one cut over `links` (directed pairs; self-links ignored); returns what it added. */
  add(links: readonly (readonly [string, string])[]): (readonly [string, string])[] {
    const added: (readonly [string, string])[] = []
    const seen = new Set<string>()
    for (const [from, to] of links) {
      if (from === to) continue
      const key = `${from}\u0000${to}`
      if (seen.has(key)) continue
      seen.add(key)
      let row = this.blocked.get(from)
      if (row === undefined) {
        row = new Map()
        this.blocked.set(from, row)
      }
      const count = row.get(to) ?? 0
      if (count === 0) this.pairs++
      row.set(to, count + 1)
      added.push([from, to])
    }
    return added
  }

  /** Removes one count from each link (the end of one cut). */
  remove(links: readonly (readonly [string, string])[]): void {
    for (const [from, to] of links) {
      const row = this.blocked.get(from)
      const count = row?.get(to) ?? 0
      if (row === undefined || count === 0) continue
      if (count === 1) {
        row.delete(to)
        this.pairs--
      } else row.set(to, count - 1)
    }
  }

  /** Restores links whatever cuts them (the old `heal(a, b)`), or every link. */
  clear(links?: readonly (readonly [string, string])[]): void {
    if (links === undefined) {
      this.blocked.clear()
      this.pairs = 0
      return
    }
    for (const [from, to] of links) {
      const row = this.blocked.get(from)
      if (row !== undefined && row.delete(to)) this.pairs--
    }
  }
}

export function groupOf(group: Group): readonly string[] {
  return typeof group === 'string' ? [group] : group
}

export function showGroup(group: Group): string {
  return typeof group === 'string' ? group : `{${group.join(',')}}`
}

/** Directed links from every node of `from` to every node of `to`. */
export function linksBetween(from: Group, to: Group): [string, string][] {
  const out: [string, string][] = []
  for (const f of groupOf(from)) for (const t of groupOf(to)) out.push([f, t])
  return out
}

/** Links cut by splitting nodes into `groups` (both ways between every two groups). */
export function linksAcross(groups: readonly Group[]): [string, string][] {
  if (groups.length < 2) throw new InvalidArgumentError(`a partition needs at least two groups, got ${groups.length}`)
  const out: [string, string][] = []
  for (let i = 0; i < groups.length; i++)
    for (let j = 0; j < groups.length; j++) if (i !== j) out.push(...linksBetween(groups[i] as Group, groups[j] as Group))
  return out
}

/** Links cut so that each node talks only to its two neighbours in `nodes` order (a ring). */
export function ringLinks(nodes: readonly string[]): [string, string][] {
  const n = nodes.length
  const out: [string, string][] = []
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const d = Math.abs(i - j)
      if (d > 1 && d < n - 1) out.push([nodes[i] as string, nodes[j] as string])
    }
  return out
}
