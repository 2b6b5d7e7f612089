/**
 * A lock file that keeps two processes (or two storage objects in one process) off one data
 * directory. Node has no flock, so the lock is a file created with O_EXCL holding the owner's pid and
 * host. A lock left by a process that died (kill -9) is taken over when that pid is no longer alive
 * on this host; a lock from another host is never taken over (its pid cannot be checked from here).
 */
import { promises as fs } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { RaftStorageLockedError } from '../errors.ts'

const LOCK_FILE = 'LOCK'

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseOwner(text: string): { pid: number; host: string } | null {
  const [pidText, host] = text.split('\n')
  const pid = Number(pidText)
  return Number.isSafeInteger(pid) && pid > 0 && host !== undefined ? { pid, host } : null
}

export class DirLock {
  private readonly path: string

  private constructor(path: string) {
    this.path = path
  }

  /** Takes the directory's lock or rejects with ERR_RAFT_STORAGE_LOCKED. */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE)
    const content = `${process.pid}\n${hostname()}\n`
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(path, content, { flag: 'wx' })
        return new DirLock(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const held = await fs.readFile(path, 'utf8').catch(() => '')
      const owner = parseOwner(held)
      if (owner !== null && (owner.host !== hostname() || isAlive(owner.pid))) {
        throw new RaftStorageLockedError(`data directory ${dir} is locked by pid ${owner.pid} on ${owner.host}`)
      }
      // Stale (or unreadable: a crash between create and write). Move it aside under a private name
      // first, so that of two processes taking over the same stale lock only one removes it; if what
      // was moved is no longer the stale lock we read, someone else took over meanwhile: put it back.
      const aside = `${path}.stale-${process.pid}`
      try {
        await fs.rename(path, aside)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw error
      }
      const moved = await fs.readFile(aside, 'utf8').catch(() => '')
      if (moved !== held) {
        await fs.rename(aside, path).catch(() => undefined)
        throw new RaftStorageLockedError(`data directory ${dir} was taken over by another process`)
      }
      await fs.unlink(aside)
    }
    throw new RaftStorageLockedError(`data directory ${dir}: could not take its lock`)
  }

  async release(): Promise<void> {
    await fs.unlink(this.path).catch(() => undefined)
  }
}
