import { describe, expect, test } from 'vitest'
import { RaftStorageCorruptError, type LogEntry } from '../../../cluster/raft/index.ts'
import { forEachSeed, SimDisk, SimRaftStorage, Simulation } from '../../../testing/index.ts'

const e = (index: number, term: number): LogEntry => ({ index, term, type: 'command', data: new Uint8Array(32).fill(index) })

describe('SimRaftStorage on SimDisk', () => {
  test('a crash keeps every resolved persist and never a torn record; suffix replacement survives', async () => {
    await forEachSeed({ seeds: 200 }, async (sim) => {
      const disk = new SimDisk(sim, 'd')
      let proc = sim.createProcess('p1')
      disk.attach(proc)
      let s = new SimRaftStorage(disk, proc.clock)
      await s.load()
      await sim.settle(s.persist({ hardState: { term: 1, votedFor: 'a' }, entries: [e(1, 1), e(2, 1), e(3, 1)] }))
      await sim.settle(s.persist({ entries: [e(2, 2)] }))
      // Unresolved writes at the crash: kept or lost (maybe torn), never corrupting what was resolved.
      void s.persist({ hardState: { term: 3, votedFor: null }, entries: [e(3, 3), e(4, 3)] })
      proc.crash()
      proc = sim.createProcess('p2')
      disk.attach(proc)
      s = new SimRaftStorage(disk, proc.clock)
      const loaded = await s.load()
      expect(loaded.hardState.term).toBeGreaterThanOrEqual(1)
      expect(loaded.entries.slice(0, 2).map((x) => [x.index, x.term])).toEqual([[1, 1], [2, 2]])
      if (loaded.entries.length > 2) expect(loaded.entries[2]).toMatchObject({ index: 3, term: 3 })
      // The log stays appendable after a torn tail was cut.
      await sim.settle(s.persist({ entries: [e(3, 4)] }))
      const again = await new SimRaftStorage(disk, proc.clock).load()
      expect(again.entries.map((x) => x.term)).toEqual([1, 2, 4])
    })
  })

  test('snapshots replace atomically; compaction drops covered entries; bad bytes before the tail are corruption', async () => {
    const sim = new Simulation({ seed: 3 })
    const disk = new SimDisk(sim, 'd')
    const proc = sim.createProcess('p')
    disk.attach(proc)
    const s = new SimRaftStorage(disk, proc.clock)
    await s.load()
    await sim.settle(s.persist({ hardState: { term: 1, votedFor: null }, entries: [e(1, 1), e(2, 1), e(3, 1)] }))
    await sim.settle(s.saveSnapshot({ index: 2, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array([9]) }))
    await sim.settle(s.compact(2))
    const loaded = await new SimRaftStorage(disk, proc.clock).load()
    expect(loaded.snapshot?.index).toBe(2)
    expect(loaded.entries.map((x) => x.index)).toEqual([3])
    disk.corrupt('raft.wal', 12)
    await expect(new SimRaftStorage(disk, proc.clock).load()).rejects.toBeInstanceOf(RaftStorageCorruptError)
  })
})
