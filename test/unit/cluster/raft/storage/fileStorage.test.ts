/** FileRaftStorage behaviour beyond the port's conformance suite: the lock, group commit, segment files, I/O failure. */
import { spawnSync } from 'node:child_process'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import type { LogEntry } from '../../../../../cluster/raft/RaftStorage.ts'
import { loadDir, readSegment, segmentFiles, tempDir, unitBounds } from './storageFiles.ts'

function run(from: number, to: number, term: number, size = 16): LogEntry[] {
  const out: LogEntry[] = []
  for (let index = from; index <= to; index++) out.push({ index, term, type: 'command', data: new Uint8Array(size).fill(index & 0xff) })
  return out
}

let base: string
let dir: string
beforeEach(async () => {
  base = await tempDir()
  dir = join(base, 'data')
})
afterEach(async () => {
  await rm(base, { recursive: true, force: true })
})

describe('FileRaftStorage: the data directory lock', () => {
  it('a second storage on the same directory is refused with ERR_RAFT_STORAGE_LOCKED until the first closes', async () => {
    const first = new FileRaftStorage({ dir })
    await first.load()
    const second = new FileRaftStorage({ dir })
    await expect(second.load()).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_LOCKED' })
    await first.persist({ entries: run(1, 2, 1) })
    await first.close()
    const third = new FileRaftStorage({ dir })
    expect((await third.load()).entries).toHaveLength(2)
    await third.close()
  })

  it('a refused load can be retried on the same object once the owner is gone', async () => {
    const owner = new FileRaftStorage({ dir })
    await owner.load()
    const waiting = new FileRaftStorage({ dir })
    await expect(waiting.load()).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_LOCKED' })
    await owner.close()
    await waiting.load()
    await waiting.close()
  })

  it('a lock left by a dead process is taken over', async () => {
    await loadDir(dir)
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    await writeFile(join(dir, 'LOCK'), `${dead.stdout}\n${hostname()}\n`)
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    await storage.close()
    expect(await readdir(dir)).not.toContain('LOCK')
  })

  it('a lock held by another host is never taken over', async () => {
    await loadDir(dir)
    await writeFile(join(dir, 'LOCK'), `1\nsome-other-host\n`)
    await expect(new FileRaftStorage({ dir }).load()).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_LOCKED' })
  })
})

describe('FileRaftStorage: group commit and segments', () => {
  it('persists issued while a write is in flight share the next fsync, in call order', async () => {
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    const calls: Promise<void>[] = []
    for (let i = 1; i <= 200; i++) calls.push(storage.persist({ hardState: { term: i, votedFor: null }, entries: run(i, i, i) }))
    await Promise.all(calls)
    await storage.close()
    // The first call is written at once; the other 199 queue behind it and go out as one unit.
    // Plus the segment's initial hard-state unit.
    const units = unitBounds(await readSegment(dir, (await segmentFiles(dir))[0] as string))
    expect(units.length).toBe(3)
    const state = await loadDir(dir)
    expect(state.hardState.term).toBe(200)
    expect(state.entries.map((e) => e.term)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
  })

  it('rotates segments at the size bound and compaction deletes whole segments below the snapshot only', async () => {
    const storage = new FileRaftStorage({ dir, segmentBytes: 4096 })
    await storage.load()
    for (let i = 0; i < 40; i++) await storage.persist({ hardState: { term: 1, votedFor: 'a' }, entries: run(i * 10 + 1, i * 10 + 10, 1, 50) })
    const before = await segmentFiles(dir)
    expect(before.length).toBeGreaterThan(5)
    await storage.saveSnapshot({ index: 200, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array(0) })
    await storage.compact(200)
    const after = await segmentFiles(dir)
    expect(after.length).toBeLessThan(before.length)
    expect(after.at(-1)).toBe(before.at(-1))
    await storage.close()
    const state = await loadDir(dir)
    expect(state.hardState).toEqual({ term: 1, votedFor: 'a' })
    expect(state.entries[0]?.index).toBe(201)
    expect(state.entries.at(-1)?.index).toBe(400)
    // Compacting everything keeps the active segment (and with it the hard state).
    const again = new FileRaftStorage({ dir, segmentBytes: 4096 })
    await again.load()
    await again.saveSnapshot({ index: 400, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array(0) })
    await again.compact(400)
    expect(await segmentFiles(dir)).toHaveLength(1)
    await again.close()
    const last = await loadDir(dir)
    expect(last.hardState).toEqual({ term: 1, votedFor: 'a' })
    expect(last.entries).toEqual([])
  })

  it('an I/O failure fails the pending persists with ERR_RAFT_STORAGE_FAILED and refuses later calls', async () => {
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    await storage.persist({ entries: run(1, 1, 1) })
    // Pull the descriptor out from under it, as a failing disk would fail the write.
    await (storage as unknown as { active: { close(): Promise<void> } }).active.close()
    await expect(storage.persist({ entries: run(2, 2, 1) })).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_FAILED' })
    await expect(storage.persist({ entries: run(2, 2, 1) })).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_FAILED' })
    await storage.close()
    expect((await loadDir(dir)).entries).toHaveLength(1)
  })

  it('a snapshot write that fails is ERR_RAFT_STORAGE_FAILED, keeps the old snapshot, and stops the storage', async () => {
    const storage = new FileRaftStorage({ dir })
    await storage.load()
    await storage.persist({ entries: run(1, 5, 1) })
    await storage.saveSnapshot({ index: 2, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array([1]) })
    // A directory where the temporary file must go: the open fails as a full or broken disk would.
    await mkdir(join(dir, 'snapshot.tmp'))
    await expect(storage.saveSnapshot({ index: 4, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array([2]) })).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_FAILED' })
    await expect(storage.persist({ entries: run(6, 6, 1) })).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_FAILED' })
    await storage.close()
    await rm(join(dir, 'snapshot.tmp'), { recursive: true })
    const state = await loadDir(dir)
    expect(state.snapshot?.index).toBe(2)
    expect(state.entries.map((e) => e.index)).toEqual([3, 4, 5])
  })

  it('rejects a segment size too small to hold anything', () => {
    expect(() => new FileRaftStorage({ dir, segmentBytes: 10 })).toThrow(expect.objectContaining({ code: 'ERR_RAFT_STORAGE_INVALID' }))
  })

  it('close during load: load rejects with ERR_RAFT_STORAGE_CLOSED and the lock is released after it', async () => {
    const storage = new FileRaftStorage({ dir })
    const loading = storage.load()
    const closing = storage.close()
    await expect(loading).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_CLOSED' })
    await closing
    const next = new FileRaftStorage({ dir })
    await next.load()
    await next.close()
  })

  it('persist before load is refused with ERR_RAFT_STORAGE_INVALID; load twice too', async () => {
    const storage = new FileRaftStorage({ dir })
    await expect(storage.persist({})).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_INVALID' })
    await storage.load()
    await expect(storage.load()).rejects.toMatchObject({ code: 'ERR_RAFT_STORAGE_INVALID' })
    await storage.close()
  })
})
