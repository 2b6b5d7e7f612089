import { describe, expect, it } from 'vitest'
import { SimDisk, SimErrorCodes, Simulation } from '../../../testing/index.ts'

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (data: Uint8Array | null): string | null => (data === null ? null : new TextDecoder().decode(data))

function disk(seed = 1, tornWrites = false) {
  const sim = new Simulation({ seed })
  const process = sim.createProcess('n1')
  const d = new SimDisk(sim, 'n1', { tornWrites })
  d.attach(process)
  return { sim, process, disk: d }
}

describe('SimDisk', () => {
  it('reads see every write; a crash keeps only what was fsynced (and synced into the directory)', () => {
    const { sim, disk: d, process } = disk()
    d.append('wal', bytes('one;'))
    d.syncDir()
    d.fsync('wal')
    d.append('wal', bytes('two;'))
    d.write('other', 0, bytes('never synced'))
    expect(text(d.read('wal'))).toBe('one;two;')
    expect(d.unsyncedBytes('wal')).toBe(4)
    expect(d.isSynced('wal')).toBe(false)
    expect(text(d.durableContents('wal'))).toBe('one;')
    process.crash()
    expect(() => d.append('wal', bytes('x'))).toThrow(expect.objectContaining({ code: SimErrorCodes.DiskIo }))
    expect(d.stats.bytesLost).toBe(4 + 12)
    // A new incarnation sees the disk as the crash left it.
    d.attach(sim.createProcess('n1#2'))
    expect(d.exists('other')).toBe(false)
    expect(text(d.read('wal'))).toBe('one;')
  })

  it('torn writes: a crash keeps a seeded prefix of the unsynced writes, the last of them cut short', () => {
    const outcomes = new Set<string>()
    for (let seed = 1; seed <= 30; seed++) {
      const { disk: d } = disk(seed, true)
      d.append('wal', bytes('A'))
      d.syncDir()
      d.fsync('wal')
      d.append('wal', bytes('BBBB'))
      d.append('wal', bytes('CCCC'))
      d.crash()
      const after = text(d.read('wal')) as string
      // Always a prefix of what was written, never less than what was synced.
      expect('ABBBBCCCC'.startsWith(after)).toBe(true)
      expect(after.startsWith('A')).toBe(true)
      outcomes.add(after)
    }
    expect(outcomes.size).toBeGreaterThan(3)
    expect([...outcomes].some((o) => o.length > 1 && o.length < 9 && o.length !== 5)).toBe(true)
  })

  it('an atomic snapshot: write a temp file, fsync, rename, sync the directory', () => {
    const { disk: d } = disk()
    d.write('snap', 0, bytes('v1'))
    d.fsync('snap')
    d.syncDir()
    d.write('snap.tmp', 0, bytes('v2'))
    d.fsync('snap.tmp')
    d.rename('snap.tmp', 'snap')
    expect(text(d.read('snap'))).toBe('v2')
    // Crash before the directory sync: the old snapshot, whole.
    d.crash()
    expect(text(d.read('snap'))).toBe('v1')
    expect(d.exists('snap.tmp')).toBe(false)
    d.write('snap.tmp', 0, bytes('v2'))
    d.fsync('snap.tmp')
    d.rename('snap.tmp', 'snap')
    d.syncDir()
    expect(d.isSynced('snap')).toBe(true)
    d.crash()
    expect(text(d.read('snap'))).toBe('v2')
    expect(d.list()).toEqual(['snap'])
  })

  it('latent read errors fail reads of their range until it is rewritten; corrupt flips bits silently', () => {
    const { disk: d } = disk()
    d.write('data', 0, bytes('hello world'))
    d.injectReadError('data', 6, 5)
    expect(text(d.read('data', 0, 5))).toBe('hello')
    expect(() => d.read('data')).toThrow(expect.objectContaining({ code: SimErrorCodes.DiskIo, data: expect.objectContaining({ path: 'data' }) }))
    d.write('data', 6, bytes('WORLD'))
    expect(text(d.read('data'))).toBe('hello WORLD')
    d.corrupt('data', 0, 0x20)
    expect(text(d.read('data'))).toBe('Hello WORLD')
    expect(d.stats.readErrors).toBe(1)
  })

  it('overwriting synced bytes, or appending after a truncate, leaves the durable image alone until fsync', () => {
    const { disk: d } = disk()
    d.append('wal', bytes('abcdef'))
    d.fsync('wal')
    d.syncDir()
    d.write('wal', 0, bytes('X'))
    expect(text(d.read('wal'))).toBe('Xbcdef')
    d.crash()
    expect(text(d.read('wal'))).toBe('abcdef')
    d.truncate('wal', 3)
    d.append('wal', bytes('ZZ'))
    expect(text(d.read('wal'))).toBe('abcZZ')
    d.crash()
    expect(text(d.read('wal'))).toBe('abcdef')
  })

  it('truncate drops a tail; a crash before fsync brings it back', () => {
    const { disk: d } = disk()
    d.append('wal', bytes('abcdef'))
    d.fsync('wal')
    d.syncDir()
    d.truncate('wal', 3)
    expect(text(d.read('wal'))).toBe('abc')
    d.crash()
    expect(text(d.read('wal'))).toBe('abcdef')
  })
})
