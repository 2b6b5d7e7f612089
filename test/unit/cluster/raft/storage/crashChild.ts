/**
 * Child process of the SIGKILL test: opens the storage in argv[2], then writes the ops of
 * crashOps.ts forever with up to 16 persists in flight, printing `k` on stdout as op k resolves.
 * The parent kills it with SIGKILL mid-stream.
 */
import { FileRaftStorage } from '../../../../../cluster/raft/FileRaftStorage.ts'
import { opBatch } from './crashOps.ts'

const dir = process.argv[2] as string
const segmentBytes = Number(process.argv[3] ?? 65536)
const storage = new FileRaftStorage({ dir, segmentBytes })
const state = await storage.load()
if (state.entries.length !== 0) throw new Error('the crash child expects an empty directory')

let lastIndex = 0
let inFlight = 0
let k = 0
let wake: (() => void) | null = null
for (;;) {
  k++
  const batch = opBatch(k, lastIndex)
  lastIndex = (batch.entries?.[batch.entries.length - 1]?.index) ?? lastIndex
  const op = k
  inFlight++
  // Resolutions arrive in call order, so "op" lines come out ascending.
  void storage.persist(batch).then(() => {
    process.stdout.write(`${op}\n`)
    inFlight--
    wake?.()
  })
  if (inFlight >= 16) await new Promise<void>((resolve) => (wake = resolve))
}
