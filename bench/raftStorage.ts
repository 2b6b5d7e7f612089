/**
 * Raft durable storage (issue 19): FileRaftStorage's append + fsync latency for batches of 1, 16 and
 * 128 entries of 100 B, throughput with group commit, suffix-truncation cost and (c) recovery time
 * of 1e6 entries, each next to a raw baseline measured in the same run: `writeSync` + `fdatasyncSync`
 * of the same bytes, or a plain sequential read of the same files.
 *
 * The lmdb comparison that decided the design (docs/raft-storage.md) runs the same cases on lmdb
 * with the same baselines: `npm run bench -- raft-storage.lmdb`. lmdb lives in bench/lmdb with its
 * own package.json, installed on first use, so the main install does not carry a native store it
 * does not use.
 */
import { spawnSync } from 'node:child_process'
import { closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileRaftStorage } from '../cluster/raft/FileRaftStorage.ts'
import type { LogEntry, PersistBatch, RaftDurableState } from '../cluster/raft/RaftStorage.ts'
import { readUnit, SEGMENT_HEADER_BYTES } from '../cluster/raft/storage/codec.ts'
import { check, median, note, paired, pairedRatio, percentile, report, round, startTiming, type Suite } from './harness.ts'

export const ENTRY_BYTES = 100
export const BATCH_SIZES = [1, 16, 128] as const
export const RECOVERY_ENTRIES = 1_000_000
const ROUNDS = 4
const LATENCY_OPS = 40
const GROUP_WRITERS = 64
const GROUP_ENTRIES = 3000
const TRUNCATE_DEPTH = 1000

/** The storage operations the cases drive: FileRaftStorage here, an lmdb-backed log in bench/lmdb. */
export interface BenchStore {
  load(): Promise<RaftDurableState>
  persist(batch: PersistBatch): Promise<void>
  close(): Promise<void>
}
export type StoreFactory = (dir: string) => BenchStore

export function entriesOf(from: number, count: number, term: number): LogEntry[] {
  const out: LogEntry[] = []
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(ENTRY_BYTES).fill((from + i) & 0xff)
    out.push({ index: from + i, term, type: 'command', data })
  }
  return out
}

/** Bytes one persist of `count` entries puts in the log file (unit header + record headers + data). */
export function logBytesFor(count: number): number {
  return 12 + count * (21 + ENTRY_BYTES)
}

export function scratch(label: string): string {
  return mkdtempSync(join(tmpdir(), `troupe-bench-${label}-`))
}

/** The raw floor: one `writeSync` + `fdatasyncSync` of `bytes` per op, appended to one file; µs per op. */
export function rawAppendLatencies(bytes: number, ops: number): number[] {
  const dir = scratch('raw')
  const fd = openSync(join(dir, 'raw.log'), 'w')
  const buffer = new Uint8Array(bytes).fill(7)
  const out: number[] = []
  let position = 0
  try {
    for (let i = 0; i < ops; i++) {
      const started = performance.now()
      writeSync(fd, buffer, 0, bytes, position)
      fdatasyncSync(fd)
      out.push((performance.now() - started) * 1000)
      position += bytes
    }
  } finally {
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

/** Sequential read of every file in `dir` (the bytes a recovery must at least read); ms. */
export function rawReadMs(dir: string): { ms: number; bytes: number } {
  const started = performance.now()
  let bytes = 0
  for (const name of readdirSync(dir)) if (name !== 'LOCK') bytes += readFileSync(join(dir, name)).length
  return { ms: performance.now() - started, bytes }
}

const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b)

/**
 * Runs `body` and the process CPU time it took (all threads: lmdb commits on a worker thread).
 * Wall time here is mostly fsync waiting on a shared virtual disk; CPU time is the steadier figure.
 */
async function withCpu<T>(body: () => Promise<T>): Promise<{ value: T; cpuUs: number }> {
  const started = process.cpuUsage()
  const value = await body()
  const used = process.cpuUsage(started)
  return { value, cpuUs: used.user + used.system }
}

export async function appendCase(prefix: string, open: StoreFactory): Promise<void> {
  for (const size of BATCH_SIZES) {
    const dir = scratch('append')
    const store = open(dir)
    await store.load()
    let next = 1
    const measured = await paired(
      ROUNDS,
      () =>
        withCpu(async () => {
          const out: number[] = []
          for (let i = 0; i < LATENCY_OPS; i++) {
            const batch = { hardState: { term: 1, votedFor: 'a' }, entries: entriesOf(next, size, 1) }
            next += size
            const started = performance.now()
            await store.persist(batch)
            out.push((performance.now() - started) * 1000)
          }
          return out
        }),
      () => withCpu(async () => rawAppendLatencies(logBytesFor(size), LATENCY_OPS)),
    )
    await store.close()
    rmSync(dir, { recursive: true, force: true })
    const rounds = { candidate: measured.candidate.map((m) => m.value), baseline: measured.baseline.map((m) => m.value) }
    const candidate = sorted(rounds.candidate.flat())
    const baseline = sorted(rounds.baseline.flat())
    report({
      case: `${prefix}.append.b${size}`,
      value: round(percentile(candidate, 50)),
      unit: `µs p50 per persist of ${size} × ${ENTRY_BYTES} B entries, awaited one by one (fsync included)`,
      baseline: round(percentile(baseline, 50)),
      ratio: round(pairedRatio(rounds.candidate.map((r) => median(r)), rounds.baseline.map((r) => median(r)))),
      p99: round(percentile(candidate, 99)),
      baselineP99: round(percentile(baseline, 99)),
      baselineIs: `writeSync + fdatasyncSync of the same ${logBytesFor(size)} bytes`,
      cpuUsPerOp: round(median(measured.candidate.map((m) => m.cpuUs / LATENCY_OPS))),
      baselineCpuUsPerOp: round(median(measured.baseline.map((m) => m.cpuUs / LATENCY_OPS))),
      n: candidate.length,
    })
  }
}

/** Counts write units in FileRaftStorage's segments: one unit is one fsync. */
function countUnits(dir: string): number {
  let units = 0
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)))
    let at = SEGMENT_HEADER_BYTES
    for (;;) {
      const unit = readUnit(bytes, at)
      if (unit.kind !== 'unit') break
      units++
      at = unit.end
    }
  }
  return units
}

export async function groupCommitCase(prefix: string, open: StoreFactory, fsyncs?: (dir: string) => number): Promise<void> {
  const rates = await paired(
    2,
    async () => {
      const dir = scratch('group')
      const store = open(dir)
      await store.load()
      // GROUP_WRITERS callers, each with one persist of one entry in flight at a time (as the driver
      // would pipeline), all appending to the same log in call order.
      let next = 1
      const started = performance.now()
      const writer = async (): Promise<void> => {
        while (next <= GROUP_ENTRIES) {
          const entries = entriesOf(next++, 1, 1)
          await store.persist({ entries })
        }
      }
      await Promise.all(Array.from({ length: GROUP_WRITERS }, writer))
      const seconds = (performance.now() - started) / 1000
      const state = (await store.close(), await reopenCount(open, dir))
      check(state === GROUP_ENTRIES, `group commit stored ${state} of ${GROUP_ENTRIES} entries`)
      const units = fsyncs?.(dir) ?? Number.NaN
      rmSync(dir, { recursive: true, force: true })
      return { rate: GROUP_ENTRIES / seconds, units }
    },
    async () => {
      const latencies = rawAppendLatencies(logBytesFor(1), 200)
      return { rate: 1e6 / median(latencies), units: 200 }
    },
  )
  report({
    case: `${prefix}.group-commit`,
    value: round(median(rates.candidate.map((r) => r.rate))),
    unit: `entries/s, ${GROUP_WRITERS} writers each with one 1-entry persist in flight`,
    baseline: round(median(rates.baseline.map((r) => r.rate))),
    ratio: round(pairedRatio(rates.candidate.map((r) => r.rate), rates.baseline.map((r) => r.rate))),
    baselineIs: 'one writeSync + fdatasyncSync per entry (no grouping)',
    fsyncsPer1000Entries: round((median(rates.candidate.map((r) => r.units)) / GROUP_ENTRIES) * 1000),
  })
}

async function reopenCount(open: StoreFactory, dir: string): Promise<number> {
  const store = open(dir)
  const state = await store.load()
  await store.close()
  return state.entries.length
}

export async function truncateCase(prefix: string, open: StoreFactory): Promise<void> {
  const dir = scratch('truncate')
  const store = open(dir)
  await store.load()
  await store.persist({ entries: entriesOf(1, 5 * TRUNCATE_DEPTH, 1) })
  let last = 5 * TRUNCATE_DEPTH
  let term = 1
  /** One timed persist: wall µs and process CPU µs (lmdb deletes on its write thread count too). */
  const timed = async (batch: PersistBatch): Promise<{ wall: number; cpu: number }> => {
    const cpu = process.cpuUsage()
    const started = performance.now()
    await store.persist(batch)
    const wall = (performance.now() - started) * 1000
    const used = process.cpuUsage(cpu)
    return { wall, cpu: used.user + used.system }
  }
  const measured = await paired(
    ROUNDS,
    async () => {
      const out: { wall: number; cpu: number }[] = []
      for (let i = 0; i < LATENCY_OPS / 2; i++) {
        // Replace the last TRUNCATE_DEPTH entries with one (a follower dropping a conflicting tail)...
        term++
        out.push(await timed({ hardState: { term, votedFor: null }, entries: entriesOf(last - TRUNCATE_DEPTH + 1, 1, term) }))
        // ...then grow back (not timed).
        await store.persist({ entries: entriesOf(last - TRUNCATE_DEPTH + 2, TRUNCATE_DEPTH - 1, term) })
      }
      return out
    },
    async () => {
      const out: { wall: number; cpu: number }[] = []
      for (let i = 0; i < LATENCY_OPS / 2; i++) {
        out.push(await timed({ hardState: { term, votedFor: null }, entries: entriesOf(last + 1, 1, term) }))
        last++
      }
      return out
    },
  )
  const rounds = { candidate: measured.candidate.map((r) => r.map((m) => m.wall)), baseline: measured.baseline.map((r) => r.map((m) => m.wall)) }
  const cpu = { candidate: measured.candidate.flat().map((m) => m.cpu), baseline: measured.baseline.flat().map((m) => m.cpu) }
  const state = (await store.close(), await reopenCount(open, dir))
  check(state === last, `truncate case: ${state} entries stored, expected ${last}`)
  rmSync(dir, { recursive: true, force: true })
  report({
    case: `${prefix}.truncate`,
    value: round(median(rounds.candidate.flat())),
    unit: `µs p50 per persist replacing the last ${TRUNCATE_DEPTH} entries with 1`,
    baseline: round(median(rounds.baseline.flat())),
    ratio: round(pairedRatio(rounds.candidate.map((r) => median(r)), rounds.baseline.map((r) => median(r)))),
    baselineIs: 'a plain 1-entry append on the same store',
    cpuUsPerOp: round(median(cpu.candidate)),
    baselineCpuUsPerOp: round(median(cpu.baseline)),
  })
}

export async function recoveryCase(prefix: string, open: StoreFactory): Promise<void> {
  const dir = scratch('recovery')
  const store = open(dir)
  await store.load()
  const batch = 5000
  for (let from = 1; from <= RECOVERY_ENTRIES; from += batch) {
    await store.persist({ hardState: { term: 1 + Math.floor(from / 100_000), votedFor: 'a' }, entries: entriesOf(from, batch, 1 + Math.floor(from / 100_000)) })
  }
  await store.close()
  note(`${prefix}.recovery: wrote ${RECOVERY_ENTRIES} entries`)
  let bytes = 0
  const rounds = await paired(
    3,
    async () => {
      const stop = startTiming()
      const reopened = open(dir)
      const state = await reopened.load()
      const timing = stop()
      check(state.entries.length === RECOVERY_ENTRIES && state.entries[RECOVERY_ENTRIES - 1]?.index === RECOVERY_ENTRIES, 'recovery lost entries')
      await reopened.close()
      return timing
    },
    async () => {
      const stop = startTiming()
      bytes = rawReadMs(dir).bytes
      return stop()
    },
  )
  const wall = { candidate: rounds.candidate.map((t) => t.wallMs), baseline: rounds.baseline.map((t) => t.wallMs) }
  const cpu = { candidate: rounds.candidate.map((t) => t.cpuMs), baseline: rounds.baseline.map((t) => t.cpuMs) }
  rmSync(dir, { recursive: true, force: true })
  report({
    case: `${prefix}.recovery`,
    value: round(median(wall.candidate)),
    unit: `ms to load ${RECOVERY_ENTRIES} entries of ${ENTRY_BYTES} B (files in the page cache)`,
    baseline: round(median(wall.baseline)),
    ratio: round(pairedRatio(wall.candidate, wall.baseline)),
    cpuMs: round(median(cpu.candidate)),
    baselineCpuMs: round(median(cpu.baseline)),
    cpuRatio: round(pairedRatio(cpu.candidate, cpu.baseline)),
    baselineIs: `readFileSync of the same files (${Math.round(bytes / 1e6)} MB)`,
    entriesPerCpuSecond: round(RECOVERY_ENTRIES / (median(cpu.candidate) / 1000)),
  })
}

const fileStore: StoreFactory = (dir) => new FileRaftStorage({ dir })
const lmdbDir = join(dirname(fileURLToPath(import.meta.url)), 'lmdb')

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`)
}

export const suite: Suite = {
  description: 'Raft log storage: append+fsync latency, group commit, truncation, recovery of 1e6 entries (lmdb comparison by name: raft-storage.lmdb)',
  cases: ['append', 'group-commit', 'truncate', 'recovery', 'lmdb'],
  async run({ only }) {
    const wants = (name: string): boolean => only === null || only.has(name)
    if (wants('append')) await appendCase('raft-storage', fileStore)
    if (wants('group-commit')) await groupCommitCase('raft-storage', fileStore, countUnits)
    if (wants('truncate')) await truncateCase('raft-storage', fileStore)
    if (wants('recovery')) await recoveryCase('raft-storage', fileStore)
    // lmdb needs a package the main install does not have: only when named.
    if (only?.has('lmdb') === true) {
      if (!existsSync(join(lmdbDir, 'node_modules', 'lmdb', 'package.json'))) {
        note('lmdb: installing into bench/lmdb (npm install --prefix bench/lmdb)')
        run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['install', '--prefix', lmdbDir, '--no-audit', '--no-fund'])
      }
      run(process.execPath, ['--expose-gc', '--import', 'tsx', join(lmdbDir, 'lmdb.ts')])
    } else if (only === null) {
      note('raft-storage.lmdb skipped: run `npm run bench -- raft-storage.lmdb` (installs lmdb into bench/lmdb)')
    }
  },
}
