/** File-system steps shared by the storage: naming, listing, durable creation and removal. */
import { promises as fs } from 'node:fs'
import { join } from 'node:path'

const SEGMENT_NAME = /^(\d{16})\.log$/

export function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.log`
}

/** Segment sequence numbers found in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await fs.readdir(dir)
  const seqs: number[] = []
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name)
    if (match !== null) seqs.push(Number(match[1]))
  }
  return seqs.sort((a, b) => a - b)
}

/** Makes a directory entry change (create, rename, unlink) durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes all of `bytes` at `position` (a file write may be short in principle). */
export async function writeFully(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done)
    if (bytesWritten <= 0) throw new Error(`short write: ${done} of ${bytes.length} bytes`)
    done += bytesWritten
  }
}

/** Atomically replaces `dir/name` with `bytes`: write a temporary file, fsync, rename, fsync the directory. */
export async function writeAtomically(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = join(dir, `${name}.tmp`)
  const handle = await fs.open(temp, 'w')
  try {
    await writeFully(handle, bytes, 0)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(temp, join(dir, name))
  await syncDir(dir)
}
