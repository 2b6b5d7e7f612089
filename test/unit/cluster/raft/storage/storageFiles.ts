/** Helpers for the file-level storage tests: building a data directory and reading its units back. */
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import type { PersistBatch, RaftDurableState } from '../../../../../cluster/raft/RaftStorage.ts'
import { readUnit, SEGMENT_HEADER_BYTES } from '../../../../../cluster/raft/storage/codec.ts'

/**
 * A temporary directory. `memory` puts it on tmpdfs when the host has one: the exhaustive torn-tail
 * tests load hundreds of directories, each load fsyncs its cut, and they test parsing, not the disk.
 */
export async function tempDir(memory = false): Promise<string> {
  const base = memory && existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
  return mkdtemp(join(base, 'troupe-raft-'))
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.log')).sort()
}

/** Unit boundaries of a segment: `[start, end)` of each whole unit after the header. */
export function unitBounds(bytes: Uint8Array): [number, number][] {
  const out: [number, number][] = []
  let at = SEGMENT_HEADER_BYTES
  while (at < bytes.length) {
    const unit = readUnit(bytes, at)
    if (unit.kind !== 'unit') throw new Error(`unexpected ${unit.kind} at ${at}`)
    out.push([at, unit.end])
    at = unit.end
  }
  return out
}

/** A comparable digest of a loaded state. */
export function digest(state: RaftDurableState): string {
  const entries = state.entries.map((e) => `${e.index}/${e.term}/${e.type}/${Buffer.from(e.data).toString('hex')}`)
  return JSON.stringify({ hardState: state.hardState, snapshot: state.snapshot === null ? null : { ...state.snapshot, data: Buffer.from(state.snapshot.data).toString('hex') }, entries })
}

/**
 * Persists `batches` one at a time (each its own unit) into a fresh directory and returns the
 * digest of the loaded state after each prefix: `states[k]` is the state after k batches.
 */
export async function buildDir(dir: string, batches: readonly PersistBatch[], segmentBytes?: number): Promise<string[]> {
  const options = { dir, ...(segmentBytes === undefined ? {} : { segmentBytes }) }
  const states: string[] = []
  const storage = new FileRaftStorage(options)
  states.push(digest(await storage.load()))
  const soFar: PersistBatch[] = []
  for (const batch of batches) {
    await storage.persist(batch)
    soFar.push(batch)
    states.push(digest(replayModel(soFar)))
  }
  await storage.close()
  return states
}

/** The state a sequence of valid batches describes (no snapshot). */
export function replayModel(batches: readonly PersistBatch[]): RaftDurableState {
  let hardState = { term: 0, votedFor: null as string | null }
  let entries: NonNullable<PersistBatch['entries']>[number][] = []
  for (const batch of batches) {
    if (batch.hardState !== undefined) hardState = { ...batch.hardState }
    const first = batch.entries?.[0]
    if (first !== undefined) entries = [...entries.filter((e) => e.index < first.index), ...(batch.entries ?? [])]
  }
  return { hardState, snapshot: null, entries }
}

export async function loadDir(dir: string): Promise<RaftDurableState> {
  const storage = new FileRaftStorage({ dir })
  try {
    return await storage.load()
  } finally {
    await storage.close()
  }
}

export async function readSegment(dir: string, name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(dir, name)))
}
