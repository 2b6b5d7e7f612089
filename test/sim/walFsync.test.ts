/**
 * A write-ahead log that acknowledges before fsync loses acknowledged entries when its node
 * crashes: SimDisk keeps only what was synced (plus, by default, a seeded, torn part of the rest).
 * The correct twin fsyncs before it answers, and recovers by dropping a torn tail (checksums).
 */
import { describe, expect, it } from 'vitest'
import { Actor, type ActorRef } from '../../runtime/index.ts'
import { findFailingSeed, forEachSeed, SimulatedCluster, type SimDisk, type Simulation } from '../../testing/index.ts'
import { seeds } from './support/seeds.ts'

const WAL = 'wal'

/** [length u16][checksum u16][utf-8 bytes] */
function encode(entry: string): Uint8Array {
  const body = new TextEncoder().encode(entry)
  const out = new Uint8Array(4 + body.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, body.length)
  view.setUint16(2, checksum(body))
  out.set(body, 4)
  return out
}

function checksum(bytes: Uint8Array): number {
  let sum = 0x1d0f
  for (const b of bytes) sum = ((sum << 5) + sum + b) & 0xffff
  return sum
}

/** Reads every whole, valid record; cuts a torn or corrupt tail off (and syncs the cut). */
function recover(disk: SimDisk): string[] {
  if (!disk.exists(WAL)) {
    disk.write(WAL, 0, new Uint8Array(0))
    disk.fsync(WAL)
    disk.syncDir()
    return []
  }
  const data = disk.read(WAL)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const entries: string[] = []
  let at = 0
  while (at + 4 <= data.length) {
    const length = view.getUint16(at)
    if (at + 4 + length > data.length) break
    const body = data.subarray(at + 4, at + 4 + length)
    if (checksum(body) !== view.getUint16(at + 2)) break
    entries.push(new TextDecoder().decode(body))
    at += 4 + length
  }
  if (at < data.length) {
    disk.truncate(WAL, at)
    disk.fsync(WAL)
  }
  return entries
}

interface JournalProtocol {
  append(entry: string): void
}

class Journal extends Actor<JournalProtocol> implements JournalProtocol {
  private readonly disk: SimDisk
  private readonly syncs: boolean
  constructor(disk: SimDisk, syncs: boolean) {
    super()
    this.disk = disk
    this.syncs = syncs
  }
  append(entry: string): void {
    this.disk.append(WAL, encode(entry))
    // The planted bug: acknowledging (returning) without fsync.
    if (this.syncs) this.disk.fsync(WAL)
  }
}

interface World {
  acked: string[]
  recovered: string[] | null
  clientDone: boolean
}

class Client extends Actor<{ run(count: number): Promise<void> }> {
  private readonly journal: ActorRef<JournalProtocol>
  private readonly world: World
  constructor(journal: ActorRef<JournalProtocol>, world: World) {
    super()
    this.journal = journal
    this.world = world
  }
  async run(count: number): Promise<void> {
    try {
      for (let i = 0; i < count; i++) {
        await this.journal.askWith({ timeoutMs: 100 }, 'append', `entry-${i}`)
        this.world.acked.push(`entry-${i}`)
      }
    } catch {
      // The journal's node went down: stop writing.
    } finally {
      this.world.clientDone = true
    }
  }
}

async function scenario(sim: Simulation, syncs: boolean): Promise<void> {
  const world: World = { acked: [], recovered: null, clientDone: false }
  const cluster = new SimulatedCluster(sim, {
    nodes: ['db', 'client'],
    boot(system, _durable, node) {
      if (node.name === 'db') {
        const entries = recover(node.disk)
        if (node.incarnation > 1) world.recovered = entries
        system.spawn(Journal, { name: 'journal', args: [node.disk, syncs] })
        return
      }
      const journal = node.cluster.lookup<JournalProtocol>('db', '/user/journal', 'client') as ActorRef<JournalProtocol>
      system.spawn(Client, { name: 'client', args: [journal, world] }).tell('run', 500)
    },
  })
  const crashAt = 10 + Math.floor(sim.random.next() * 300)
  sim.at(crashAt, () => cluster.crash('db'), 'crash db')
  sim.at(crashAt + 20, () => cluster.restart('db'), 'restart db')
  await sim.runUntil(() => world.recovered !== null && world.clientDone, 10_000)
  const recovered = new Set(world.recovered)
  const lost = world.acked.filter((entry) => !recovered.has(entry))
  if (lost.length > 0) throw new Error(`${lost.length} acknowledged entries lost in the crash (first: ${lost[0]}); ${world.acked.length} acknowledged`)
  expect(world.acked.length).toBeGreaterThan(0)
}

describe('a write-ahead log under SimDisk crashes', () => {
  it('acknowledging before fsync loses acknowledged entries: the simulator finds a seed that shows it', async () => {
    const found = await findFailingSeed({ seeds: 20 }, (sim) => scenario(sim, false))
    expect(found?.error.message).toContain('acknowledged entries lost in the crash')
    expect(found?.tried).toBeLessThanOrEqual(5)
  })

  it('with fsync before the acknowledgement (and a checksummed tail), no seed loses an acknowledged entry', async () => {
    expect(await forEachSeed({ seeds: seeds(40) }, (sim) => scenario(sim, true))).toBe(seeds(40))
  })
})
