/**
 * The lmdb side of the raft-storage comparison (issue 19: measure before choosing). A Raft log on
 * lmdb as hashicorp/raft keeps one on BoltDB: entries keyed by index in one sub-database, hard state
 * in another, one write transaction per persist; a suffix replacement deletes the replaced keys in
 * the same transaction. lmdb-js batches concurrent transactions into one commit (its own group
 * commit) and, with overlappingSync (its default on Linux), flushes after commit; `persist` awaits
 * `flushed`, so it resolves only once durable, as the port requires.
 */
import { open, type Database, type RootDatabase } from 'lmdb'
import type { LogEntry, PersistBatch, RaftDurableState } from '../../cluster/raft/RaftStorage.ts'
import { note } from '../harness.ts'
import { appendCase, groupCommitCase, recoveryCase, truncateCase, type BenchStore } from '../raftStorage.ts'

const TYPES = ['command', 'noop', 'config'] as const

class LmdbLog implements BenchStore {
  private readonly path: string
  private root: RootDatabase | null = null
  private log: Database<Uint8Array, number> | null = null
  private meta: Database<unknown, string> | null = null
  private lastIndex = 0

  constructor(path: string) {
    this.path = path
  }

  async load(): Promise<RaftDurableState> {
    this.root = open({ path: this.path, compression: false })
    this.log = this.root.openDB<Uint8Array, number>('log', { keyEncoding: 'uint32', encoding: 'binary' })
    this.meta = this.root.openDB<unknown, string>('meta', {})
    const hardState = (this.meta.get('hs') as RaftDurableState['hardState'] | undefined) ?? { term: 0, votedFor: null }
    const entries: LogEntry[] = []
    for (const { key, value } of this.log.getRange({})) {
      const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
      entries.push({ index: key, term: view.getUint32(0), type: TYPES[value[4] as number] ?? 'command', data: value.subarray(5) })
    }
    this.lastIndex = entries.at(-1)?.index ?? 0
    return { hardState, snapshot: null, entries }
  }

  async persist(batch: PersistBatch): Promise<void> {
    const log = this.log as Database<Uint8Array, number>
    const meta = this.meta as Database<unknown, string>
    const entries = batch.entries ?? []
    const first = entries[0]?.index
    const lastBefore = this.lastIndex
    if (first !== undefined) this.lastIndex = first + entries.length - 1
    const committed = (this.root as RootDatabase).transaction(() => {
      if (batch.hardState !== undefined) meta.put('hs', batch.hardState)
      if (first !== undefined) for (let index = first; index <= lastBefore; index++) log.remove(index)
      for (const entry of entries) {
        const value = new Uint8Array(5 + entry.data.length)
        new DataView(value.buffer).setUint32(0, entry.term)
        value[4] = TYPES.indexOf(entry.type)
        value.set(entry.data, 5)
        log.put(entry.index, value)
      }
    })
    await committed
    await (this.root as RootDatabase).flushed
  }

  async close(): Promise<void> {
    await this.root?.close()
    this.root = null
  }
}

const lmdbStore = (dir: string): BenchStore => new LmdbLog(dir)
note('lmdb: the same cases on an lmdb-backed log, baselines measured again in this process')
await appendCase('raft-storage.lmdb', lmdbStore)
await groupCommitCase('raft-storage.lmdb', lmdbStore)
await truncateCase('raft-storage.lmdb', lmdbStore)
await recoveryCase('raft-storage.lmdb', lmdbStore)
