/**
 * Torn tails and corruption. A crash tears at most the last write unit of the last segment (units
 * are written one at a time, each after the previous fsync), so: any damage confined to that unit is
 * cut off and load returns the state before it; damage anywhere before it is ERR_RAFT_STORAGE_CORRUPT.
 */
import fc from 'fast-check'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import type { LogEntry, PersistBatch } from '../../../../../cluster/raft/RaftStorage.ts'
import { buildDir, digest, loadDir, readSegment, segmentFiles, tempDir, unitBounds } from './storageFiles.ts'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
function run(from: number, to: number, term: number): LogEntry[] {
  const out: LogEntry[] = []
  for (let index = from; index <= to; index++) out.push({ index, term, type: 'command', data: bytes(`cmd-${index}-${term}`) })
  return out
}

const BATCHES: PersistBatch[] = [
  { hardState: { term: 1, votedFor: 'a' }, entries: run(1, 3, 1) },
  { entries: run(4, 5, 1) },
  { hardState: { term: 2, votedFor: 'b' } },
  { hardState: { term: 3, votedFor: null }, entries: run(4, 6, 3) }, // replaces 4..5
  { entries: run(7, 9, 3) },
  { hardState: { term: 4, votedFor: 'c' }, entries: run(10, 10, 4) },
]
/** Enough bytes for several 1 KiB segments, ending with a small batch as the tail. */
const LONG: PersistBatch[] = [
  ...BATCHES,
  ...Array.from({ length: 6 }, (_, i) => ({ entries: run(11 + i * 5, 15 + i * 5, 4).map((e) => ({ ...e, data: new Uint8Array(60).fill(i) })) })),
  { hardState: { term: 5, votedFor: 'd' }, entries: run(41, 42, 5) },
]

let root: string
let work = 0
beforeAll(async () => {
  root = await tempDir(true)
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** A fresh directory holding `files` (name → bytes). */
async function dirWith(files: ReadonlyMap<string, Uint8Array>): Promise<string> {
  const dir = join(root, `w${work++}`)
  await mkdir(dir)
  for (const [name, content] of files) await writeFile(join(dir, name), content)
  return dir
}

interface Built {
  readonly states: string[]
  readonly names: string[]
  readonly files: Map<string, Uint8Array>
  /** Units of the last segment, and how many units came before that segment (the initial hard-state unit of each segment counts). */
  readonly lastUnits: [number, number][]
}

async function build(segmentBytes?: number, batches: readonly PersistBatch[] = BATCHES): Promise<Built> {
  const dir = join(root, `src${work++}`)
  const states = await buildDir(dir, batches, segmentBytes)
  const names = await segmentFiles(dir)
  const files = new Map<string, Uint8Array>()
  for (const name of names) files.set(name, await readSegment(dir, name))
  const last = files.get(names[names.length - 1] as string) as Uint8Array
  return { states, names, files, lastUnits: unitBounds(last) }
}

function withLast(built: Built, last: Uint8Array): Map<string, Uint8Array> {
  const files = new Map(built.files)
  files.set(built.names[built.names.length - 1] as string, last)
  return files
}

describe('FileRaftStorage: torn tails are cut off', () => {
  it('truncating the only segment at every byte offset loads the state of the whole units before the cut', async () => {
    const built = await build()
    const last = built.files.get(built.names[0] as string) as Uint8Array
    // Unit 0 is the segment's initial hard state; unit k (k ≥ 1) is batch k.
    for (let cut = 0; cut <= last.length; cut++) {
      const whole = built.lastUnits.filter(([, end]) => end <= cut).length
      const expected = built.states[Math.max(0, whole - 1)]
      const dir = await dirWith(withLast(built, last.subarray(0, cut)))
      expect(digest(await loadDir(dir)), `cut at ${cut}`).toBe(expected)
    }
  }, 60_000)

  it('with many segments, truncating the last one anywhere keeps every sealed segment', async () => {
    const built = await build(1024, LONG)
    expect(built.names.length).toBeGreaterThan(2)
    const last = built.files.get(built.names[built.names.length - 1] as string) as Uint8Array
    // The last segment holds its initial hard-state unit, then batches; unit u ≥ 1 of it is batch
    // LONG.length - (units - 1) + u.
    const units = built.lastUnits.length
    for (let cut = 0; cut <= last.length; cut++) {
      const whole = built.lastUnits.filter(([, end]) => end <= cut).length
      const batchesKept = LONG.length - (units - Math.max(1, whole))
      expect(digest(await loadDir(await dirWith(withLast(built, last.subarray(0, cut))))), `cut at ${cut}`).toBe(built.states[batchesKept])
    }
  }, 60_000)

  it('property: flipping any bytes of the last unit never throws and loses only that unit', async () => {
    const built = await build()
    const last = built.files.get(built.names[0] as string) as Uint8Array
    const [start, end] = built.lastUnits[built.lastUnits.length - 1] as [number, number]
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: start, max: end - 1 }), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }),
        async (flips) => {
          const damaged = new Uint8Array(last)
          for (const { at, mask } of flips) damaged[at] = (damaged[at] as number) ^ mask
          const changed = flips.some(({ at }) => damaged[at] !== last[at])
          const state = digest(await loadDir(await dirWith(withLast(built, damaged))))
          expect(state).toBe(changed ? built.states[BATCHES.length - 1] : built.states[BATCHES.length])
        },
      ),
      { numRuns: 150 },
    )
  })

  it('property: zeros or garbage after the last unit (a next write torn before any of it landed) are cut off', async () => {
    const built = await build()
    const last = built.files.get(built.names[0] as string) as Uint8Array
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 600 }), fc.nat({ max: 9000 }).map((n) => new Uint8Array(n + 1))), async (tail) => {
        const extended = new Uint8Array(last.length + tail.length)
        extended.set(last)
        extended.set(tail, last.length)
        expect(digest(await loadDir(await dirWith(withLast(built, extended))))).toBe(built.states[BATCHES.length])
      }),
      { numRuns: 100 },
    )
  })

  it('after a torn tail is cut, new writes land behind the cut and survive the next load', async () => {
    const built = await build()
    const last = built.files.get(built.names[0] as string) as Uint8Array
    const dir = await dirWith(withLast(built, last.subarray(0, last.length - 3)))
    const storage = new FileRaftStorage({ dir })
    const state = await storage.load()
    expect(digest(state)).toBe(built.states[BATCHES.length - 1])
    await storage.persist({ hardState: { term: 9, votedFor: 'z' }, entries: run(10, 11, 9) })
    await storage.close()
    const again = await loadDir(dir)
    expect(again.hardState).toEqual({ term: 9, votedFor: 'z' })
    expect(again.entries.map((e) => `${e.index}/${e.term}`).slice(-3)).toEqual(['9/3', '10/9', '11/9'])
  })
})

describe('FileRaftStorage: corruption before the tail is an error, never skipped', () => {
  it('property: flipping a byte anywhere before the last unit rejects with ERR_RAFT_STORAGE_CORRUPT', async () => {
    const built = await build()
    const last = built.files.get(built.names[0] as string) as Uint8Array
    const [lastStart] = built.lastUnits[built.lastUnits.length - 1] as [number, number]
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: lastStart - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const damaged = new Uint8Array(last)
        damaged[at] = (damaged[at] as number) ^ mask
        await expect(loadDir(await dirWith(withLast(built, damaged)))).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CORRUPT' })
      }),
      { numRuns: 200 },
    )
  })

  it('damage in a sealed segment, even in its last unit, is corruption', async () => {
    const built = await build(1024, LONG)
    for (const name of built.names.slice(0, -1)) {
      const sealed = built.files.get(name) as Uint8Array
      for (const at of [0, 30, sealed.length - 1]) {
        const files = new Map(built.files)
        const damaged = new Uint8Array(sealed)
        damaged[at] = (damaged[at] as number) ^ 0x40
        files.set(name, damaged)
        await expect(loadDir(await dirWith(files)), `${name} at ${at}`).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CORRUPT' })
      }
      const files = new Map(built.files)
      files.set(name, sealed.subarray(0, sealed.length - 5))
      await expect(loadDir(await dirWith(files)), `${name} truncated`).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CORRUPT' })
    }
  })

  it('a missing segment in the middle is corruption', async () => {
    const built = await build(1024, LONG)
    expect(built.names.length).toBeGreaterThan(2)
    const files = new Map(built.files)
    files.delete(built.names[1] as string)
    await expect(loadDir(await dirWith(files))).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CORRUPT' })
  })
})

describe('FileRaftStorage: snapshot files', () => {
  const snapshot = { index: 5, term: 1, config: { voters: ['a', 'b', 'c'], learners: ['d'] }, data: bytes('machine state') }

  it('a leftover snapshot.tmp (crash while saving) is ignored: the old snapshot loads', async () => {
    const dir = join(root, `snap${work++}`)
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    await storage.persist({ entries: run(1, 8, 1) })
    await storage.saveSnapshot(snapshot)
    await storage.close()
    await writeFile(join(dir, 'snapshot.tmp'), bytes('half a snapshot'))
    const state = await loadDir(dir)
    expect(state.snapshot).toEqual(snapshot)
    expect(state.entries.map((e) => e.index)).toEqual([6, 7, 8])
  })

  it('a damaged snapshot file rejects with ERR_RAFT_STORAGE_CORRUPT', async () => {
    const dir = join(root, `snap${work++}`)
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    await storage.persist({ entries: run(1, 8, 1) })
    await storage.saveSnapshot(snapshot)
    await storage.close()
    const file = await readSegment(dir, 'snapshot')
    for (const at of [0, 10, 20, file.length - 1]) {
      const damaged = new Uint8Array(file)
      damaged[at] = (damaged[at] as number) ^ 1
      await writeFile(join(dir, 'snapshot'), damaged)
      await expect(loadDir(dir), `byte ${at}`).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CORRUPT' })
    }
  })
})

describe('FileRaftStorage: crashes in the middle of a replacement or a compaction', () => {
  it('a replacement, once acknowledged, is never undone by a torn write after it; torn itself, the old suffix stays whole', async () => {
    const batches: PersistBatch[] = [
      { hardState: { term: 1, votedFor: 'a' }, entries: run(1, 10, 1) },
      { hardState: { term: 2, votedFor: 'b' }, entries: run(5, 6, 2) }, // replaces 5..10
      { entries: run(7, 8, 2) },
    ]
    const built = await build(undefined, batches)
    const last = built.files.get(built.names[0] as string) as Uint8Array
    const [replacementStart, replacementEnd] = built.lastUnits[2] as [number, number]
    for (let cut = replacementStart; cut <= last.length; cut++) {
      const state = await loadDir(await dirWith(withLast(built, last.subarray(0, cut))))
      const terms = state.entries.map((e) => `${e.index}/${e.term}`)
      if (cut < replacementEnd) {
        // The replacement never became durable: the old log, whole.
        expect(terms, `cut at ${cut}`).toEqual(run(1, 10, 1).map((e) => `${e.index}/1`))
      } else {
        // Durable replacement: none of the replaced term-1 entries 5..10 may come back.
        expect(terms.slice(0, 6), `cut at ${cut}`).toEqual(['1/1', '2/1', '3/1', '4/1', '5/2', '6/2'])
        expect(state.entries.every((e) => e.index < 5 || e.term === 2), `cut at ${cut}`).toBe(true)
      }
    }
  }, 60_000)

  it('a compaction interrupted after removing any number of its oldest segments loads the same state', async () => {
    const dir = join(root, `compact${work++}`)
    const storage = new FileRaftStorage({ dir, segmentBytes: 1024 })
    await storage.load()
    for (let i = 0; i < 20; i++) await storage.persist({ hardState: { term: 2, votedFor: 'n' }, entries: run(i * 5 + 1, i * 5 + 5, 2) })
    await storage.saveSnapshot({ index: 80, term: 2, config: { voters: ['n'], learners: [] }, data: bytes('s80') })
    await storage.close()
    const names = await segmentFiles(dir)
    const files = new Map<string, Uint8Array>()
    for (const name of [...names, 'snapshot']) files.set(name, await readSegment(dir, name))
    const expected = digest(await loadDir(dir))
    // How many segments compact(80) removes, learned from a real compaction of a copy.
    const copy = await dirWith(files)
    const compacting = new FileRaftStorage({ dir: copy, segmentBytes: 1024 })
    await compacting.load()
    await compacting.compact(80)
    await compacting.close()
    const doomed = names.length - (await segmentFiles(copy)).length
    expect(doomed).toBeGreaterThan(1)
    // It removes the oldest first, so a crash leaves any shorter prefix of them removed.
    for (let removed = 0; removed <= doomed; removed++) {
      const partial = new Map(files)
      for (const name of names.slice(0, removed)) partial.delete(name)
      expect(digest(await loadDir(await dirWith(partial))), `${removed} of ${doomed} removed`).toBe(expected)
    }
  }, 60_000)
})
