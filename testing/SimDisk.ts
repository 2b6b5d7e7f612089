import { InvalidArgumentError, SeededRandom } from '../runtime/index.ts'
import { SimDiskError } from './errors.ts'
import { deriveSeed } from './seeds.ts'
import type { SimProcess } from './SimProcess.ts'
import type { Simulation } from './Simulation.ts'
import { TraceKind } from './Trace.ts'

export interface SimDiskOptions {
  /**
   * On a crash, unsynced writes are not simply lost: a seeded number of them (in write order)
   * reached the platter, and the next one is torn (a seeded prefix of its bytes). Default true;
   * false: a crash keeps exactly what was fsynced.
   */
  readonly tornWrites?: boolean
  /** Probability that a read hits a latent sector error (ERR_SIM_DISK_IO). Default 0. */
  readonly readErrorRate?: number
}

export interface SimDiskStats {
  writes: number
  bytesWritten: number
  fsyncs: number
  dirSyncs: number
  crashes: number
  /** Unsynced bytes a crash threw away. */
  bytesLost: number
  /** Unsynced writes a crash tore (kept a prefix of). */
  tornWrites: number
  readErrors: number
}

interface PendingWrite {
  readonly offset: number
  readonly bytes: Uint8Array
  /** A truncation (bytes empty): the file's length becomes `offset`. */
  readonly truncate: boolean
}

/**
 * One file. Contents live in a growable buffer; the durable image shares it until a write would
 * touch the durable bytes (copy on write), so the append-then-fsync of a log costs no copy.
 */
class Inode {
  private buf: Uint8Array = new Uint8Array(0)
  length = 0
  private durableBuf: Uint8Array = this.buf
  durableLength = 0
  /** Writes since the last fsync, in order (what a crash may keep part of). */
  pending: PendingWrite[] = []
  /** Byte ranges that fail to read until rewritten. */
  badRanges: { start: number; end: number }[] = []

  /** What reads see (a view: copy before handing it out). */
  get current(): Uint8Array {
    return this.buf.subarray(0, this.length)
  }

  /** What survives a crash (a view). */
  get durable(): Uint8Array {
    return this.durableBuf.subarray(0, this.durableLength)
  }

  write(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.length
    this.detachIfTouching(Math.min(offset, this.length))
    if (end > this.buf.length) {
      const grown = new Uint8Array(Math.max(end, this.buf.length * 2, 64))
      grown.set(this.buf.subarray(0, this.length))
      this.buf = grown
    } else if (offset > this.length) this.buf.fill(0, this.length, offset)
    this.buf.set(bytes, offset)
    if (end > this.length) this.length = end
  }

  truncate(length: number): void {
    if (length < this.length) this.length = length
  }

  sync(): void {
    this.durableBuf = this.buf
    this.durableLength = this.length
    if (this.pending.length > 0) this.pending = []
  }

  /** After a crash: `contents` is both what reads see and what is durable. */
  reset(contents: Uint8Array): void {
    this.buf = contents
    this.length = contents.length
    this.sync()
  }

  flip(offset: number, xor: number): void {
    if (offset < this.length) this.buf[offset] = (this.buf[offset] as number) ^ xor
    if (this.durableBuf !== this.buf && offset < this.durableLength) this.durableBuf[offset] = (this.durableBuf[offset] as number) ^ xor
  }

  private detachIfTouching(start: number): void {
    if (this.durableBuf === this.buf && start < this.durableLength) this.durableBuf = this.buf.slice(0, this.durableLength)
  }
}

/**
 * A node's disk under the failure model storage code must survive (FoundationDB's and
 * TigerBeetle's simulated disks are the anchors): files of bytes, written in place or appended,
 * durable only once fsynced; directory entries (creating, renaming, unlinking a file) durable only
 * once the directory is synced. A crash of the owning process keeps what was synced and, by
 * default, a seeded part of what was not, tearing the last write. Reads can hit injected latent
 * errors, and bits can rot (`corrupt`), so checksums get exercised.
 *
 * A write-ahead log: `append`, then `fsync` before acknowledging. An atomic snapshot: write
 * `snap.tmp`, `fsync('snap.tmp')`, `rename('snap.tmp', 'snap')`, `syncDir()`.
 *
 * Operations are synchronous and instant in virtual time (durability, not latency, is modelled).
 */
export class SimDisk {
  readonly label: string
  readonly stats: SimDiskStats = { writes: 0, bytesWritten: 0, fsyncs: 0, dirSyncs: 0, crashes: 0, bytesLost: 0, tornWrites: 0, readErrors: 0 }
  private readonly sim: Simulation
  private readonly random: SeededRandom
  private readonly torn: boolean
  private readonly readErrorRate: number
  /** Directory: what reads see, and what survives a crash. */
  private names = new Map<string, Inode>()
  private durableNames = new Map<string, Inode>()
  private owner: SimProcess | null = null

  constructor(sim: Simulation, label: string, options: SimDiskOptions = {}) {
    this.sim = sim
    this.label = label
    let h = 0
    for (let i = 0; i < label.length; i++) h = (Math.imul(h, 31) + label.charCodeAt(i)) | 0
    this.random = new SeededRandom(deriveSeed(sim.seed, 0x5d15c000 ^ h))
    this.torn = options.tornWrites ?? true
    this.readErrorRate = options.readErrorRate ?? 0
    if (!(this.readErrorRate >= 0 && this.readErrorRate <= 1)) throw new InvalidArgumentError(`readErrorRate must be in [0, 1], got ${this.readErrorRate}`)
  }

  /**
   * Binds the disk to a process (a node incarnation): its crash is the disk's crash, and a crashed
   * owner's writes are refused. `SimulatedCluster` does this on every boot.
   */
  attach(process: SimProcess): void {
    this.owner = process
    process.crashListeners.push(() => {
      if (this.owner === process) this.crash()
    })
  }

  // ------------------------------------------------------------------ files

  exists(path: string): boolean {
    return this.names.has(path)
  }

  /** Paths that exist (as reads see them), sorted, optionally under a prefix. */
  list(prefix = ''): string[] {
    return [...this.names.keys()].filter((p) => p.startsWith(prefix)).sort()
  }

  size(path: string): number {
    return this.inode(path, 'size').length
  }

  /** Writes `bytes` at `offset` (creating the file; a gap reads as zeros). Not durable until fsync. */
  write(path: string, offset: number, bytes: Uint8Array): void {
    this.checkAlive('write', path)
    if (!Number.isInteger(offset) || offset < 0) throw new InvalidArgumentError(`write offset must be a non-negative integer, got ${offset}`)
    let inode = this.names.get(path)
    if (inode === undefined) {
      inode = new Inode()
      this.names.set(path, inode)
    }
    const copy = new Uint8Array(bytes)
    inode.write(offset, copy)
    inode.pending.push({ offset, bytes: copy, truncate: false })
    if (inode.badRanges.length > 0) inode.badRanges = inode.badRanges.filter((r) => r.end <= offset || r.start >= offset + copy.length)
    this.stats.writes++
    this.stats.bytesWritten += copy.length
  }

  /** Appends `bytes`; returns the offset they were written at. */
  append(path: string, bytes: Uint8Array): number {
    const offset = this.names.get(path)?.length ?? 0
    this.write(path, offset, bytes)
    return offset
  }

  /** Cuts the file to `length` bytes (a log dropping a torn or conflicting tail). Not durable until fsync. */
  truncate(path: string, length: number): void {
    this.checkAlive('truncate', path)
    const inode = this.inode(path, 'truncate')
    inode.truncate(length)
    inode.pending.push({ offset: length, bytes: new Uint8Array(0), truncate: true })
  }

  /** Reads `length` bytes from `offset` (default: to the end). Throws ERR_SIM_DISK_IO on a latent error. */
  read(path: string, offset = 0, length?: number): Uint8Array {
    this.checkAlive('read', path)
    const inode = this.inode(path, 'read')
    const end = Math.min(inode.length, length === undefined ? Infinity : offset + length)
    if (inode.badRanges.some((r) => r.start < end && r.end > offset) || (this.readErrorRate > 0 && this.random.next() < this.readErrorRate)) {
      this.stats.readErrors++
      this.sim.record(TraceKind.Fault, this.owner, `${this.label}: read error on ${path} [${offset}, ${end})`, end - offset)
      throw new SimDiskError(`latent read error on ${this.label}:${path} at [${offset}, ${end})`, { data: { disk: this.label, path, op: 'read', offset } })
    }
    return inode.current.slice(offset, Math.max(offset, end))
  }

  /** Makes the file's contents durable (not its name: see `syncDir`). */
  fsync(path: string): void {
    this.checkAlive('fsync', path)
    const inode = this.inode(path, 'fsync')
    inode.sync()
    this.stats.fsyncs++
  }

  /** Renames atomically (replacing `to`); durable once the directory is synced. */
  rename(from: string, to: string): void {
    this.checkAlive('rename', from)
    const inode = this.inode(from, 'rename')
    this.names.delete(from)
    this.names.set(to, inode)
  }

  unlink(path: string): void {
    this.checkAlive('unlink', path)
    this.inode(path, 'unlink')
    this.names.delete(path)
  }

  /** Makes the directory durable: files created, renamed and unlinked so far survive a crash as they are. */
  syncDir(): void {
    this.checkAlive('syncDir', '/')
    this.durableNames = new Map(this.names)
    this.stats.dirSyncs++
  }

  // ------------------------------------------------------------------ introspection

  /** Whether everything written to `path` is durable (contents fsynced and name synced). */
  isSynced(path: string): boolean {
    const inode = this.names.get(path)
    return inode !== undefined && inode.pending.length === 0 && this.durableNames.get(path) === inode
  }

  /** The bytes of `path` a crash now would certainly keep (null: the file itself would not survive). */
  durableContents(path: string): Uint8Array | null {
    const inode = this.durableNames.get(path)
    return inode === undefined ? null : inode.durable.slice()
  }

  /** Bytes written but not yet fsynced, in one file or across the disk. */
  unsyncedBytes(path?: string): number {
    const inodes = path === undefined ? new Set(this.names.values()) : [this.inode(path, 'unsyncedBytes')]
    let total = 0
    for (const inode of inodes) for (const w of inode.pending) total += w.bytes.length
    return total
  }

  // ------------------------------------------------------------------ faults

  /** Reads of `[offset, offset + length)` of `path` fail until that range is rewritten (a latent sector error). */
  injectReadError(path: string, offset = 0, length = Infinity): void {
    this.inode(path, 'injectReadError').badRanges.push({ start: offset, end: offset + length })
  }

  /** Flips bits of one byte, silently, in what reads see and what is durable (bit rot). */
  corrupt(path: string, offset: number, xor = 0xff): void {
    const inode = this.inode(path, 'corrupt')
    inode.flip(offset, xor)
  }

  /**
   * What a power cut or process crash leaves: synced contents and names; with torn writes, a seeded
   * prefix of the unsynced writes of each file, the last of them torn. Called on the owner's crash.
   */
  crash(): void {
    this.stats.crashes++
    const names = new Map<string, Inode>()
    for (const [path, inode] of this.durableNames) names.set(path, inode)
    for (const inode of new Set([...this.names.values(), ...this.durableNames.values()])) {
      let contents: Uint8Array = inode.durable.slice()
      const pending = inode.pending
      let kept = 0
      if (this.torn && pending.length > 0) {
        kept = Math.floor(this.random.next() * (pending.length + 1))
        for (let i = 0; i < kept; i++) contents = applyPending(contents, pending[i] as PendingWrite)
        const next = pending[kept]
        if (next !== undefined && !next.truncate && next.bytes.length > 1) {
          const prefix = 1 + Math.floor(this.random.next() * (next.bytes.length - 1))
          contents = applyWrite(contents, next.offset, next.bytes.subarray(0, prefix))
          this.stats.tornWrites++
        }
      }
      for (let i = kept; i < pending.length; i++) this.stats.bytesLost += (pending[i] as PendingWrite).bytes.length
      inode.reset(contents)
    }
    this.names = names
    this.durableNames = new Map(names)
    this.sim.record(TraceKind.Fault, this.owner, `${this.label}: crash (disk keeps what was synced)`, 0)
  }

  private inode(path: string, op: string): Inode {
    const inode = this.names.get(path)
    if (inode === undefined) throw new SimDiskError(`${op}: no file ${this.label}:${path}`, { data: { disk: this.label, path, op } })
    return inode
  }

  private checkAlive(op: string, path: string): void {
    if (this.owner !== null && this.owner.isCrashed) throw new SimDiskError(`${op} of ${path}: process ${this.owner.label} has crashed; it touches no disk`, { data: { disk: this.label, path, op } })
  }
}

function applyPending(contents: Uint8Array, write: PendingWrite): Uint8Array {
  return write.truncate ? contents.slice(0, Math.min(write.offset, contents.length)) : applyWrite(contents, write.offset, write.bytes)
}

function applyWrite(contents: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  const end = offset + bytes.length
  const out = end > contents.length ? new Uint8Array(end) : contents
  if (out !== contents) out.set(contents)
  out.set(bytes, offset)
  return out
}
