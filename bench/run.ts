/**
 * Benchmark entry point: `npm run bench [-- <suite>[.<case>]...]`. Prints one `BENCH {json}` line per
 * case on stdout (progress goes to stderr). Never a CI gate: wall-clock figures on shared machines
 * vary; the ratio to the baseline measured in the same run is the figure to compare.
 */
import { cpus } from 'node:os'
import { hasGc, note, type Suite } from './harness.ts'
import { suites } from './suites.ts'

function usage(): string {
  const lines = Object.entries(suites).map(([name, entry]) => `  ${name}${entry.onDemand === true ? '  (on demand: run it by name)' : ''}`)
  return [
    'usage: npm run bench [-- <suite>[.<case>]...]',
    '  no argument runs every suite not marked on demand; `--list` also lists each suite\'s cases',
    'suites:',
    ...lines,
  ].join('\n')
}

async function list(): Promise<string> {
  const out: string[] = []
  for (const [name, entry] of Object.entries(suites)) {
    const { suite } = await entry.load()
    out.push(`${name}${entry.onDemand === true ? ' (on demand)' : ''}: ${suite.description}`)
    for (const c of suite.cases) out.push(`  ${name}.${c}`)
  }
  return out.join('\n')
}

/** `core` → all of core; `core.ask` → just that case. Order of first mention is kept. */
function parseSelection(args: readonly string[]): Map<string, Set<string> | null> | string {
  const selection = new Map<string, Set<string> | null>()
  const unknown: string[] = []
  for (const arg of args) {
    const dot = arg.indexOf('.')
    const name = dot < 0 ? arg : arg.slice(0, dot)
    if (!Object.hasOwn(suites, name)) {
      unknown.push(arg)
      continue
    }
    if (dot < 0) {
      selection.set(name, null)
      continue
    }
    const cases = selection.get(name)
    if (cases === null) continue
    selection.set(name, new Set([...(cases ?? []), arg.slice(dot + 1)]))
  }
  if (unknown.length > 0) return `unknown suite${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`
  return selection
}

async function main(): Promise<number> {
  const args = process.argv.slice(2)
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${usage()}\n`)
    return 0
  }
  if (args.includes('--list')) {
    process.stdout.write(`${await list()}\n`)
    return 0
  }
  const defaults = Object.keys(suites).filter((name) => suites[name]?.onDemand !== true)
  const selection = parseSelection(args.length > 0 ? args : defaults)
  if (typeof selection === 'string') {
    process.stderr.write(`${selection}\n${usage()}\n`)
    return 2
  }
  const loaded: [string, Suite, ReadonlySet<string> | null][] = []
  for (const [name, only] of selection) {
    const { suite } = await (suites[name] as (typeof suites)[string]).load()
    const missing = only === null ? [] : [...only].filter((c) => !suite.cases.includes(c))
    if (missing.length > 0) {
      process.stderr.write(`unknown case${missing.length > 1 ? 's' : ''} in ${name}: ${missing.join(', ')}\n${name} has: ${suite.cases.join(', ')}\n`)
      return 2
    }
    loaded.push([name, suite, only])
  }
  const cpu = cpus()
  note(`node ${process.version}, ${cpu.length} cpus (${cpu[0]?.model ?? 'unknown'}), gc ${hasGc() ? 'exposed' : 'NOT exposed'}, ${new Date().toISOString()}`)
  for (const [name, suite, only] of loaded) {
    note(`suite ${name}: ${suite.description}`)
    const started = performance.now()
    await suite.run({ only })
    note(`suite ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  return 0
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
