/**
 * Real crashes: a child process writes through FileRaftStorage with persists in flight and is
 * killed with SIGKILL mid-stream. Loading afterwards must give exactly the state after some op j at
 * or beyond the last one the child saw resolve: everything acknowledged is there, nothing is torn,
 * nothing is mixed. The dead child's lock file is taken over.
 */
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import { digestOf, modelDigests } from './crashOps.ts'
import { segmentFiles, tempDir } from './storageFiles.ts'

const child = fileURLToPath(new URL('./crashChild.ts', import.meta.url))

/** Runs the child until it has acknowledged `target` ops, kills it, and returns the last acknowledged op. */
function writeUntilKilled(dir: string, target: number, segmentBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(segmentBytes)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let acked = 0
    let buffered = ''
    let stderr = ''
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) acked = Math.max(acked, Number(line))
      if (acked >= target && proc.exitCode === null) proc.kill('SIGKILL')
    })
    proc.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(acked)
      else reject(new Error(`crash child exited on its own (${String(_code)}): ${stderr}`))
    })
  })
}

describe('FileRaftStorage under SIGKILL', () => {
  it.each([
    [40, 65536],
    [400, 65536],
    [700, 8192],
  ])('killed after %i acknowledged ops (%i-byte segments): load holds every acknowledged op, nothing torn', async (target, segmentBytes) => {
    const base = await tempDir()
    const dir = join(base, 'data')
    try {
      const acked = await writeUntilKilled(dir, target, segmentBytes)
      expect(acked).toBeGreaterThanOrEqual(target)
      if (segmentBytes === 8192) expect((await segmentFiles(dir)).length).toBeGreaterThan(1)
      const storage = new FileRaftStorage({ dir })
      const state = await storage.load()
      // The child keeps at most 16 in flight, so the disk holds op acked..acked+16.
      const models = modelDigests(acked + 17)
      const found = digestOf(state.hardState, state.entries)
      const j = models.indexOf(found)
      expect(j, `loaded ${found}; acknowledged through op ${acked}`).toBeGreaterThanOrEqual(acked)
      // And it keeps working: a write after recovery survives the next load.
      const last = state.entries[state.entries.length - 1]?.index ?? 0
      await storage.persist({ hardState: { term: 999, votedFor: 'after' }, entries: [{ index: last + 1, term: 999, type: 'noop', data: new Uint8Array(0) }] })
      await storage.close()
      const again = new FileRaftStorage({ dir })
      const reloaded = await again.load()
      expect(reloaded.hardState).toEqual({ term: 999, votedFor: 'after' })
      expect(reloaded.entries.length).toBe(state.entries.length + 1)
      await again.close()
    } finally {
      await rm(base, { recursive: true, force: true })
    }
  }, 30_000)
})
