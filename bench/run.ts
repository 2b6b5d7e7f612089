/**
 * Benchmark entry point: `npm run bench [-- <suite>[.<case>]...]`. Prints one `BENCH {json}` line per
 * case on stdout (progress goes to stderr). Never a CI gate: wall-clock figures on shared machines
 * vary; the ratio to the baseline measured in the same run is the figure to compare.
 */
import { spawnSync } from 'node:child_process'
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
  const child = process.env[CHILD_ENV] === '1'
  const cpu = cpus()
  if (!child) note(`node ${process.version}, ${cpu.length} cpus (${cpu[0]?.model ?? 'unknown'}), gc ${hasGc() ? 'exposed' : 'NOT exposed'}, ${new Date().toISOString()}`)
  for (const [name, suite, only] of loaded) {
    if (!child) note(`suite ${name}: ${suite.description}`)
    const started = performance.now()
    if (suite.isolateCases === true && !child) {
      for (const c of suite.cases.filter((c) => only === null || only.has(c))) runChild(`${name}.${c}`)
    } else {
      await suite.run({ only })
    }
    if (!child) note(`suite ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
  return 0
}

/** Set in a child that runs one case of an isolated suite. */
const CHILD_ENV = 'TROUPE_BENCH_CHILD'

/** Runs one case in a fresh node with the same flags (--expose-gc, the tsx loader). */
function runChild(selector: string): void {
  const script = process.argv[1] as string
  const result = spawnSync(process.execPath, [...process.execArgv, script, selector], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_ENV]: '1' },
  })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`case ${selector} exited with ${result.status ?? result.signal}`)
}

// Everything a case awaits is driven by the event loop; if the loop empties before the run
// finishes (a case awaits something nothing will settle), say so instead of exiting quietly.
let finished = false
process.on('exit', (code) => {
  if (!finished && code === 0) {
    process.stderr.write('bench ended before its suites finished: a case awaited something nothing settles\n')
    process.exitCode = 1
  }
})

main().then(
  (code) => {
    finished = true
    process.exitCode = code
    // A suite that leaves something holding the loop (a live ActorSystem keeps the process open by
    // design) must not turn a finished run into a hang. Unref'd: it fires only if something else
    // is still keeping the process alive.
    setTimeout(() => {
      note('something still holds the event loop after the last suite (a system not terminated?); exiting')
      process.exit()
    }, 2000).unref()
  },
  (error: unknown) => {
    finished = true
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exitCode = 1
  },
)
