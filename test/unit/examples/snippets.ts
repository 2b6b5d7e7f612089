/**
 * The TypeScript snippets of the documentation, as the tests check them: extracted
 * verbatim, written next to the README (so `./examples/...` imports resolve as a reader's would),
 * type-checked with the project's tsconfig, and run with `troupe` resolving to the sources.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** Documents whose standalone snippets are also run (the rest are type-checked only). */
export const DOCUMENTS = ['README.md', 'docs/operations.md']

/** Every Markdown document a reader meets: README, ARCHITECTURE and docs/ (with subfolders). */
export function allDocuments(): string[] {
  const docs: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) walk(`${dir}/${entry.name}`)
      else if (entry.name.endsWith('.md')) docs.push(`${dir}/${entry.name}`)
    }
  }
  walk('docs')
  return ['README.md', 'ARCHITECTURE.md', ...docs]
}

export interface Snippet {
  readonly document: string
  /** 1-based line of the opening fence. */
  readonly line: number
  readonly code: string
}

export function snippetsOf(document: string): Snippet[] {
  const lines = readFileSync(join(ROOT, document), 'utf8').split('\n')
  const snippets: Snippet[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i] as string)
    snippets.push({ document, line: start + 1, code: `${body.join('\n')}\n` })
  }
  return snippets
}

/**
 * Writes each snippet as `.snippet-<tag>-<pid>-<n>.ts` at the repository root; returns their paths and
 * a cleanup. A snippet whose first line names a file (`// app.ts`) is that file of its document: the
 * other snippets of the same document import it as `./app.ts`, so those imports are pointed at it.
 */
export function writeSnippets(snippets: readonly Snippet[], tag: string): { files: string[]; remove: () => void } {
  const base = (n: number): string => `.snippet-${tag}-${process.pid}-${n}`
  const named = new Map<string, string>()
  snippets.forEach((snippet, n) => {
    const name = /^\/\/ ([\w-]+)\.ts\n/.exec(snippet.code)?.[1]
    if (name !== undefined) named.set(`${snippet.document}|${name}`, base(n))
  })
  const files = snippets.map((snippet, n) => {
    const file = join(ROOT, `${base(n)}.ts`)
    const code = snippet.code.replace(/from '\.\/([\w-]+)\.ts'/g, (whole, name: string) => {
      const target = named.get(`${snippet.document}|${name}`)
      return target === undefined ? whole : `from './${target}.ts'`
    })
    writeFileSync(file, `// ${snippet.document}:${snippet.line}\n${code}`)
    return file
  })
  return { files, remove: () => files.forEach((file) => rmSync(file, { force: true })) }
}

/** tsc over the given files only (and what they import), with the project's compiler options. */
export function typecheck(files: readonly string[], tag: string): SpawnSyncReturns<string> {
  const config = join(ROOT, `.snippets-${tag}-${process.pid}.tsconfig.json`)
  writeFileSync(config, JSON.stringify({ extends: './tsconfig.json', include: [], files }))
  try {
    return spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 })
  } finally {
    rmSync(config, { force: true })
  }
}

/** Runs a snippet file as `npm run dev -- <file>` does. */
export function runSnippet(file: string, env: Readonly<Record<string, string>> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--conditions=troupe-source', '--import', 'tsx', file], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ...env },
  })
}

/** As runSnippet, without blocking this process's event loop (for snippets that call a node running in it). */
export function runSnippetAsync(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=troupe-source', '--import', 'tsx', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (status) => resolve({ status, stdout, stderr }))
  })
}
