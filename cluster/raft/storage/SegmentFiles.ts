/** File-system steps shared by the storage: naming, listing, durable creation, appends and removal. */
import { constants as fsc, promises as fs, write as fsWrite, fdatasync as fsDatasync } from 'node:fs'
import { join } from 'node:path'

const SEGMENT_NAME = /^(\d{16})\.log$/

/** Segments are O_DSYNC where the platform has it: a write returns durable (as write + fdatasync) in one thread-pool round trip, not two. */
const DSYNC: number = fsc.O_DSYNC ?? 0
export const OPEN_ACTIVE = fsc.O_RDWR | DSYNC
export const CREATE_SEGMENT = fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL | DSYNC

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

/**
 * Writes `bytes` at `position` durably: the segment is O_DSYNC (each write is durable when it
 * returns), or an fdatasync follows. Through the callback API: FileHandle's promise methods cost
 * noticeably more per call, and this is on every commit's path.
 */
export function appendDurably(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      fsWrite(fd, bytes, off, bytes.length - off, position + off, (error, written) => {
        if (error !== null) return reject(error)
        if (off + written < bytes.length) return step(off + written)
        if (DSYNC !== 0) return resolve()
        fsDatasync(fd, (e) => (e === null ? resolve() : reject(e)))
      })
    }
    step(0)
  })
}
