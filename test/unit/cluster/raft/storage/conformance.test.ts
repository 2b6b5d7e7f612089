import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import { raftStorageConformance, type RaftStorageHarness } from '../../../../support/raftStorageConformance.ts'

/**
 * In one process a crash cannot drop the page cache, so `crash` here is: let the I/O already handed
 * to the OS finish, then drop the object (close releases its descriptor and lock, and writes nothing
 * of its own). Losing unsynced writes is covered by the SIGKILL and torn-tail tests.
 */
function fileHarness(segmentBytes?: number): RaftStorageHarness {
  return {
    modelRuns: 25,
    async location() {
      const dir = await mkdtemp(join(tmpdir(), 'troupe-raft-'))
      return {
        open: () => new FileRaftStorage({ dir: join(dir, 'data'), ...(segmentBytes === undefined ? {} : { segmentBytes }) }),
        crash: (storage) => storage.close(),
        dispose: () => rm(dir, { recursive: true, force: true }),
      }
    },
  }
}

raftStorageConformance('FileRaftStorage (default 64 MiB segments)', fileHarness())
// Tiny segments: nearly every persist rotates, so rotation and whole-segment compaction run everywhere.
raftStorageConformance('FileRaftStorage (1 KiB segments)', fileHarness(1024))
