/**
 * The RaftStorage conformance suite: what the Raft driver relies on from any implementation of the
 * port (cluster/raft/RaftStorage.ts), written once and run against each of them: FileRaftStorage
 * here, the simulator's SimDisk twin later. Call `raftStorageConformance(name, harness)` inside a
 * test file; it defines its own `describe` block.
 *
 * A harness gives fresh storage locations. `crash` must leave the location as a process crash at
 * that instant would: everything whose call resolved is kept; calls still in flight may or may not
 * have reached the disk; nothing more reaches it afterwards; the location can then be opened again.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { HardState, LogEntry, RaftDurableState, RaftStorage, Snapshot } from '../../cluster/raft/RaftStorage.ts'

export interface StorageLocation {
  /** A new storage object over this location (not yet loaded). */
  open(): RaftStorage
  /** Stops `storage` as a crash would (see above). */
  crash(storage: RaftStorage): Promise<void>
  /** Removes the location. */
  dispose(): Promise<void>
}

export interface RaftStorageHarness {
  location(): Promise<StorageLocation>
  /** fast-check runs of the model-based property (default 30). */
  readonly modelRuns?: number
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

/** Entries `from..to` of `term`, each carrying its own coordinates as data. */
export function entries(from: number, to: number, term: number, type: LogEntry['type'] = 'command'): LogEntry[] {
  const out: LogEntry[] = []
  for (let index = from; index <= to; index++) out.push({ index, term, type, data: bytes(`${index}@${term}`) })
  return out
}

/** Comparable form of a log (Uint8Array equality is by content in toEqual, but this prints better). */
function view(list: readonly LogEntry[]): string[] {
  return list.map((e) => `${e.index}/${e.term}/${e.type}/${Buffer.from(e.data).toString('hex')}`)
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code })
}

export function raftStorageConformance(name: string, harness: RaftStorageHarness): void {
  /** Opens, loads, runs `body`, and always disposes the location. */
  async function withLocation(body: (loc: StorageLocation) => Promise<void>): Promise<void> {
    const loc = await harness.location()
    try {
      await body(loc)
    } finally {
      await loc.dispose()
    }
  }
  async function reopen(loc: StorageLocation, previous: RaftStorage, how: 'close' | 'crash'): Promise<{ storage: RaftStorage; state: RaftDurableState }> {
    if (how === 'close') await previous.close()
    else await loc.crash(previous)
    const storage = loc.open()
    return { storage, state: await storage.load() }
  }

  describe(`RaftStorage conformance: ${name}`, () => {
    snapshotInstallCases(harness)

    it('a fresh location loads as term 0, no vote, no snapshot, no entries', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        expect(await storage.load()).toEqual({ hardState: { term: 0, votedFor: null }, snapshot: null, entries: [] })
        await storage.close()
      }))

    it.each(['close', 'crash'] as const)('hard state and entries survive a %s, in order, types and bytes intact', (how) =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        const big = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff)
        const written: LogEntry[] = [
          { index: 1, term: 1, type: 'noop', data: new Uint8Array(0) },
          { index: 2, term: 1, type: 'config', data: bytes('{"voters":["a","b","c"]}') },
          { index: 3, term: 1, type: 'command', data: big },
          ...entries(4, 40, 2),
        ]
        await storage.persist({ hardState: { term: 1, votedFor: 'nöde-α' }, entries: written.slice(0, 3) })
        await storage.persist({ hardState: { term: 2, votedFor: null }, entries: written.slice(3) })
        const { storage: again, state } = await reopen(loc, storage, how)
        expect(state.hardState).toEqual({ term: 2, votedFor: null })
        expect(state.snapshot).toBeNull()
        expect(view(state.entries)).toEqual(view(written))
        await again.close()
      }))

    it('pipelined persists (not awaited one by one) apply in call order and all resolve', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        const calls: Promise<void>[] = []
        for (let term = 1; term <= 50; term++) {
          calls.push(storage.persist({ hardState: { term, votedFor: `n${term}` }, entries: entries(term * 2 - 1, term * 2, term) }))
        }
        // A suffix replacement queued behind the appends must land after them.
        calls.push(storage.persist({ entries: entries(90, 95, 51) }))
        await Promise.all(calls)
        const { storage: again, state } = await reopen(loc, storage, 'crash')
        expect(state.hardState).toEqual({ term: 50, votedFor: 'n50' })
        expect(view(state.entries)).toEqual(view([...entries(1, 89, 0).map((e) => ({ ...e, term: Math.ceil(e.index / 2), data: bytes(`${e.index}@${Math.ceil(e.index / 2)}`) })), ...entries(90, 95, 51)]))
        await again.close()
      }))

    it('entries at or below the last index replace the stored suffix, and the old suffix never comes back', () =>
      withLocation(async (loc) => {
        let storage = loc.open()
        await storage.load()
        await storage.persist({ entries: entries(1, 10, 1) })
        await storage.persist({ hardState: { term: 2, votedFor: 'b' }, entries: entries(6, 7, 2) })
        let state: RaftDurableState
        ;({ storage, state } = await reopen(loc, storage, 'crash'))
        expect(view(state.entries)).toEqual(view([...entries(1, 5, 1), ...entries(6, 7, 2)]))
        // Replace again after a restart, then append past the old end; reload twice.
        await storage.persist({ entries: entries(3, 4, 3) })
        await storage.persist({ entries: entries(5, 12, 3) })
        ;({ storage, state } = await reopen(loc, storage, 'crash'))
        ;({ storage, state } = await reopen(loc, storage, 'close'))
        expect(view(state.entries)).toEqual(view([...entries(1, 2, 1), ...entries(3, 12, 3)]))
        await storage.close()
      }))

    it('a persist with only hard state keeps the log; the last hard state wins', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        await storage.persist({ entries: entries(1, 3, 1) })
        await storage.persist({ hardState: { term: 5, votedFor: 'c' } })
        await storage.persist({ hardState: { term: 6, votedFor: null } })
        await storage.persist({})
        const { storage: again, state } = await reopen(loc, storage, 'crash')
        expect(state.hardState).toEqual({ term: 6, votedFor: null })
        expect(view(state.entries)).toEqual(view(entries(1, 3, 1)))
        await again.close()
      }))

    it('snapshots replace each other atomically; compaction drops covered entries and keeps the rest', () =>
      withLocation(async (loc) => {
        let storage = loc.open()
        await storage.load()
        await storage.persist({ hardState: { term: 3, votedFor: 'a' }, entries: entries(1, 30, 3) })
        const first: Snapshot = { index: 10, term: 3, config: { voters: ['a', 'b', 'c'], learners: [] }, data: bytes('state@10') }
        await storage.saveSnapshot(first)
        let state: RaftDurableState
        ;({ storage, state } = await reopen(loc, storage, 'crash'))
        // Saving does not drop entries: load returns those after the snapshot.
        expect(state.snapshot).toEqual(first)
        expect(view(state.entries)).toEqual(view(entries(11, 30, 3)))
        await storage.compact(10)
        const second: Snapshot = { index: 25, term: 3, config: { voters: ['a', 'b'], learners: ['d'] }, data: new Uint8Array(100_000).fill(9) }
        await storage.saveSnapshot(second)
        await storage.compact(25)
        await storage.persist({ entries: entries(31, 33, 4) })
        ;({ storage, state } = await reopen(loc, storage, 'crash'))
        expect(state.snapshot).toEqual(second)
        expect(state.hardState).toEqual({ term: 3, votedFor: 'a' })
        expect(view(state.entries)).toEqual(view([...entries(26, 30, 3), ...entries(31, 33, 4)]))
        await storage.close()
      }))

    it('a snapshot installed beyond the log: the log restarts right after it', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        await storage.persist({ hardState: { term: 2, votedFor: null }, entries: entries(1, 5, 1) })
        const installed: Snapshot = { index: 100, term: 7, config: { voters: ['a', 'b', 'c'], learners: [] }, data: bytes('leader state') }
        await storage.saveSnapshot(installed)
        await storage.compact(100)
        await expectCode(storage.persist({ entries: entries(6, 6, 7) }), 'ERR_RAFT_STORAGE_INVALID')
        await storage.persist({ hardState: { term: 7, votedFor: null }, entries: entries(101, 103, 7) })
        const { storage: again, state } = await reopen(loc, storage, 'crash')
        expect(state.snapshot).toEqual(installed)
        expect(state.hardState).toEqual({ term: 7, votedFor: null })
        expect(view(state.entries)).toEqual(view(entries(101, 103, 7)))
        await again.close()
      }))

    it('rejects what the contract forbids with ERR_RAFT_STORAGE_INVALID and writes nothing of it', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        await storage.persist({ entries: entries(1, 3, 1) })
        await expectCode(storage.persist({ entries: entries(5, 6, 1) }), 'ERR_RAFT_STORAGE_INVALID') // gap
        await expectCode(storage.persist({ entries: [...entries(4, 4, 1), ...entries(6, 6, 1)] }), 'ERR_RAFT_STORAGE_INVALID') // not consecutive
        await expectCode(storage.persist({ hardState: { term: -1, votedFor: null } }), 'ERR_RAFT_STORAGE_INVALID')
        await expectCode(storage.persist({ entries: [{ index: 4, term: 1, type: 'bogus' as 'noop', data: new Uint8Array(0) }] }), 'ERR_RAFT_STORAGE_INVALID')
        await expectCode(storage.compact(2), 'ERR_RAFT_STORAGE_INVALID') // no snapshot covers it
        await storage.saveSnapshot({ index: 2, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array(0) })
        await expectCode(storage.saveSnapshot({ index: 1, term: 1, config: { voters: ['a'], learners: [] }, data: new Uint8Array(0) }), 'ERR_RAFT_STORAGE_INVALID') // older
        await expectCode(storage.persist({ entries: entries(2, 2, 1) }), 'ERR_RAFT_STORAGE_INVALID') // covered by the snapshot
        await storage.persist({ entries: entries(4, 4, 1) })
        const { storage: again, state } = await reopen(loc, storage, 'crash')
        expect(view(state.entries)).toEqual(view(entries(3, 4, 1)))
        expect(state.hardState).toEqual({ term: 0, votedFor: null })
        await again.close()
      }))

    it('close flushes accepted persists; afterwards every call rejects with ERR_RAFT_STORAGE_CLOSED', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        const accepted = storage.persist({ hardState: { term: 4, votedFor: 'x' }, entries: entries(1, 20, 4) })
        await storage.close()
        await accepted
        await storage.close() // idempotent
        await expectCode(storage.persist({ entries: entries(21, 21, 4) }), 'ERR_RAFT_STORAGE_CLOSED')
        await expectCode(storage.saveSnapshot({ index: 1, term: 4, config: { voters: [], learners: [] }, data: new Uint8Array(0) }), 'ERR_RAFT_STORAGE_CLOSED')
        await expectCode(storage.compact(0), 'ERR_RAFT_STORAGE_CLOSED')
        await expectCode(storage.load(), 'ERR_RAFT_STORAGE_CLOSED')
        const again = loc.open()
        const state = await again.load()
        expect(state.hardState).toEqual({ term: 4, votedFor: 'x' })
        expect(state.entries).toHaveLength(20)
        await again.close()
      }))

    it('a crash with persists in flight loads a state of some prefix of the calls, never a mix', () =>
      withLocation(async (loc) => {
        const storage = loc.open()
        await storage.load()
        await storage.persist({ hardState: { term: 1, votedFor: 'a' }, entries: entries(1, 5, 1) })
        const inFlight = [2, 3, 4, 5].map((term) => storage.persist({ hardState: { term, votedFor: null }, entries: entries(5 + term, 5 + term, term) }).catch(() => 'lost'))
        await loc.crash(storage)
        await Promise.all(inFlight)
        const again = loc.open()
        const state = await again.load()
        const term = state.hardState.term
        expect(term).toBeGreaterThanOrEqual(1)
        // Term t goes with exactly the entries written by calls up to t.
        expect(view(state.entries)).toEqual(view([...entries(1, 5, 1), ...[2, 3, 4, 5].filter((t) => t <= term).map((t) => entries(5 + t, 5 + t, t)[0] as LogEntry)]))
        await again.close()
      }))

    it('model: any sequence of appends, replacements, votes, snapshots, compactions and restarts loads as the model says', async () => {
      type Op =
        | { kind: 'append'; count: number; termBump: number }
        | { kind: 'replace'; back: number; count: number }
        | { kind: 'vote'; votedFor: string | null }
        | { kind: 'snapshot'; back: number; compactToo: boolean }
        | { kind: 'restart'; how: 'close' | 'crash' }
      const op: fc.Arbitrary<Op> = fc.oneof(
        { weight: 4, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 40 }), termBump: fc.integer({ min: 0, max: 1 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace' as const), back: fc.integer({ min: 0, max: 30 }), count: fc.integer({ min: 1, max: 10 }) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('vote' as const), votedFor: fc.option(fc.constantFrom('a', 'b', 'c')) }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), back: fc.integer({ min: 0, max: 20 }), compactToo: fc.boolean() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), how: fc.constantFrom('close' as const, 'crash' as const) }) },
      )
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), (ops) =>
          withLocation(async (loc) => {
            let storage = loc.open()
            await storage.load()
            let hard: HardState = { term: 0, votedFor: null }
            let log: LogEntry[] = []
            let snap: Snapshot | null = null
            const first = (): number => (snap?.index ?? 0) + 1
            const last = (): number => (log.length > 0 ? (log[log.length - 1] as LogEntry).index : (snap?.index ?? 0))
            for (const step of ops) {
              if (step.kind === 'append') {
                hard = { term: hard.term + step.termBump, votedFor: hard.votedFor }
                const added = entries(last() + 1, last() + step.count, hard.term)
                await storage.persist({ hardState: hard, entries: added })
                log = [...log, ...added]
              } else if (step.kind === 'replace') {
                const from = Math.max(first(), last() + 1 - step.back)
                hard = { term: hard.term + 1, votedFor: null }
                const added = entries(from, from + step.count - 1, hard.term)
                await storage.persist({ hardState: hard, entries: added })
                log = [...log.filter((e) => e.index < from), ...added]
              } else if (step.kind === 'vote') {
                hard = { term: hard.term, votedFor: step.votedFor }
                await storage.persist({ hardState: hard })
              } else if (step.kind === 'snapshot') {
                const at = last() - step.back
                if (at < first() || log.length === 0) continue
                const covered = log.find((e) => e.index === at) as LogEntry
                snap = { index: at, term: covered.term, config: { voters: ['a', 'b', 'c'], learners: [] }, data: bytes(`snap@${at}`) }
                await storage.saveSnapshot(snap)
                if (step.compactToo) await storage.compact(at)
                log = log.filter((e) => e.index > at)
              } else {
                const reopened = await reopen(loc, storage, step.how)
                storage = reopened.storage
                expect(reopened.state.hardState).toEqual(hard)
                expect(reopened.state.snapshot).toEqual(snap)
                expect(view(reopened.state.entries)).toEqual(view(log))
              }
            }
            const { storage: final, state } = await reopen(loc, storage, 'crash')
            expect(state.hardState).toEqual(hard)
            expect(state.snapshot).toEqual(snap)
            expect(view(state.entries)).toEqual(view(log))
            await final.close()
          }),
        ),
        { numRuns: harness.modelRuns ?? 30 },
      )
    })
  })
}

/**
 * installSnapshot (Raft §7): the stored suffix stays only when it continues the snapshot. Runs inside
 * `raftStorageConformance`, and alone for twins that do not enforce the contract's argument checks.
 */
export function raftSnapshotInstallConformance(name: string, harness: RaftStorageHarness): void {
  describe(`RaftStorage installSnapshot conformance: ${name}`, () => snapshotInstallCases(harness))
}

function snapshotInstallCases(harness: RaftStorageHarness): void {
  const config = { voters: ['a', 'b', 'c'], learners: [] }
  async function run(body: (loc: StorageLocation) => Promise<void>): Promise<void> {
    const loc = await harness.location()
    try {
      await body(loc)
    } finally {
      await loc.dispose()
    }
  }
  async function again(loc: StorageLocation, previous: RaftStorage, how: 'close' | 'crash'): Promise<{ storage: RaftStorage; state: RaftDurableState }> {
    if (how === 'close') await previous.close()
    else await loc.crash(previous)
    const storage = loc.open()
    return { storage, state: await storage.load() }
  }

  it.each(['close', 'crash'] as const)('installSnapshot whose (index, term) the log holds keeps the suffix after it (%s)', (how) =>
    run(async (loc) => {
      let storage = loc.open()
      await storage.load()
      await storage.persist({ hardState: { term: 2, votedFor: 'a' }, entries: [...entries(1, 10, 1), ...entries(11, 20, 2)] })
      const snap: Snapshot = { index: 15, term: 2, config, data: bytes('state@15') }
      await storage.installSnapshot(snap)
      await storage.compact(15)
      let state: RaftDurableState
      ;({ storage, state } = await again(loc, storage, how))
      expect(state.snapshot).toEqual(snap)
      expect(view(state.entries)).toEqual(view(entries(16, 20, 2)))
      // The kept suffix is a normal log: replaced and extended as before.
      await storage.persist({ hardState: { term: 3, votedFor: null }, entries: entries(19, 22, 3) })
      ;({ storage, state } = await again(loc, storage, how))
      expect(view(state.entries)).toEqual(view([...entries(16, 18, 2), ...entries(19, 22, 3)]))
      await storage.close()
    }))

  it.each(['close', 'crash'] as const)('installSnapshot whose term differs from the stored entry at its index discards the whole log (%s)', (how) =>
    run(async (loc) => {
      let storage = loc.open()
      await storage.load()
      await storage.persist({ hardState: { term: 2, votedFor: 'a' }, entries: [...entries(1, 10, 1), ...entries(11, 20, 2)] })
      const snap: Snapshot = { index: 15, term: 3, config, data: bytes('state@15/3') }
      await storage.installSnapshot(snap)
      await storage.compact(15)
      let state: RaftDurableState
      ;({ storage, state } = await again(loc, storage, how))
      expect(state.snapshot).toEqual(snap)
      expect(state.entries).toEqual([])
      await storage.persist({ hardState: { term: 4, votedFor: null }, entries: entries(16, 18, 4) })
      ;({ storage, state } = await again(loc, storage, how))
      expect(state.hardState).toEqual({ term: 4, votedFor: null })
      expect(view(state.entries)).toEqual(view(entries(16, 18, 4)))
      await storage.close()
    }))

  it('installSnapshot beyond the log, and at the stored snapshot itself: the log continues right after it', () =>
    run(async (loc) => {
      const storage = loc.open()
      await storage.load()
      await storage.persist({ hardState: { term: 5, votedFor: null }, entries: entries(1, 5, 1) })
      const far: Snapshot = { index: 40, term: 5, config, data: bytes('far') }
      await storage.installSnapshot(far)
      await storage.persist({ entries: entries(41, 43, 5) })
      // Installing the same snapshot again keeps what follows it.
      await storage.installSnapshot(far)
      const reopened = await again(loc, storage, 'crash')
      expect(reopened.state.snapshot).toEqual(far)
      expect(view(reopened.state.entries)).toEqual(view(entries(41, 43, 5)))
      await reopened.storage.close()
    }))

  it('a crash between the snapshot landing and the old log being discarded: load drops the stale suffix, for good', () =>
    run(async (loc) => {
      let storage = loc.open()
      await storage.load()
      await storage.persist({ hardState: { term: 3, votedFor: null }, entries: [...entries(1, 10, 1), ...entries(11, 20, 2)] })
      // saveSnapshot writes the snapshot alone: the state installSnapshot passes through before it discards the log.
      const snap: Snapshot = { index: 15, term: 3, config, data: bytes('state@15/3') }
      await storage.saveSnapshot(snap)
      let state: RaftDurableState
      ;({ storage, state } = await again(loc, storage, 'crash'))
      expect(state.snapshot).toEqual(snap)
      expect(state.entries).toEqual([])
      // What is appended after it must survive the next load (the stale entry at 15 must not judge it).
      await storage.persist({ entries: entries(16, 17, 3) })
      ;({ storage, state } = await again(loc, storage, 'crash'))
      expect(view(state.entries)).toEqual(view(entries(16, 17, 3)))
      await storage.close()
    }))
}
