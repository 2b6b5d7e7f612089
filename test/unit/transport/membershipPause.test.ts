import { afterEach, describe, expect, it } from 'vitest'
import { HeartbeatMembership, type MembershipListener } from '../../../cluster/index.ts'
import { FakeBus, PausableClock, settle, type FakeConnection } from './support/fakeBus.ts'

const SUBJECT = 'troupe.c.hb'
/** Beats every 100 ms; a regular peer is declared down about 1.5 s into its silence. */
const TIMING = { intervalMs: 100, timeoutMs: 1000 }

interface Member {
  readonly name: string
  readonly membership: HeartbeatMembership
  readonly connection: FakeConnection
  readonly clock: PausableClock
  /** What the listener heard, `resumed` aside (it is in `resumes`). */
  readonly events: string[]
  readonly resumes: string[]
}

let members: Member[] = []
afterEach(async () => {
  for (const m of members) m.connection.paused = false
  await Promise.all(members.map((m) => m.membership.stop()))
  members = []
})

async function member(bus: FakeBus, name: string, incarnation = `${name}-1`, options: { publish?: boolean } = {}): Promise<Member> {
  const connection = bus.connect()
  const clock = new PausableClock(bus.world)
  const membership = new HeartbeatMembership({ connection: connection.asNats(), clock, subject: SUBJECT, node: name, incarnation, ...TIMING, ...options })
  const events: string[] = []
  const resumes: string[] = []
  const listener: MembershipListener = {
    up: (node) => events.push(`up ${node}`),
    down: (node, shard) => events.push(`down ${node}${shard === null ? '' : `:${shard}`}`),
    leaving: (node) => events.push(`leaving ${node}`),
    quarantined: (by) => events.push(`quarantined by ${by}`),
    resumed: () => {
      resumes.push(name)
    },
  }
  await membership.start(listener)
  const m = { name, membership, connection, clock, events, resumes }
  members.push(m)
  return m
}

/** Stops the process: no timer fires, nothing is read (SIGSTOP). */
function pause(m: Member): void {
  m.clock.pause()
  m.connection.paused = true
}

/** SIGCONT with the socket read before the overdue timers, as libuv does when it was parked in epoll. */
function resumeReadingFirst(m: Member): boolean {
  m.connection.paused = false
  // The transport asks before every frame it takes in: a stalled tick says "hold".
  const held = m.membership.holding()
  m.connection.drain()
  m.clock.resume()
  return held
}

describe('HeartbeatMembership after a pause (virtual time)', () => {
  it('a node paused 5 s judges nobody; the healthy node quarantines it; it learns so and rejoins only as a new run', async () => {
    const bus = new FakeBus()
    const healthy = await member(bus, 'h')
    const paused = await member(bus, 'p')
    await bus.run(2000)
    expect(healthy.events).toEqual(['up p'])
    expect(paused.events).toEqual(['up h'])

    pause(paused)
    await bus.run(5000)
    // The healthy node proved its own link (flush) and declared the silent one down.
    expect(healthy.events).toEqual(['up p', 'down p'])
    expect(healthy.membership.members()).toEqual([])
    expect(healthy.membership.stats.declaredDown).toBe(1)
    // Its notice waits in the paused node's socket with the beats.
    expect(paused.connection.pending).toBeGreaterThan(40)

    expect(resumeReadingFirst(paused)).toBe(true)
    await settle()
    // It read the notice before anything else happened: it is out, it declared nobody down.
    expect(paused.events).toEqual(['up h', 'quarantined by h'])
    expect(paused.membership.quarantined).toBe('h')
    expect(paused.membership.members()).toEqual([])
    await bus.run(3000)
    expect(paused.events).toEqual(['up h', 'quarantined by h'])
    // The quarantined run stays out; it does not even beat any more.
    expect(healthy.events).toEqual(['up p', 'down p'])

    // Restarted (a new incarnation): admitted again.
    const restarted = await member(bus, 'p', 'p-2')
    await bus.run(500)
    expect(healthy.events).toEqual(['up p', 'down p', 'up p'])
    expect(restarted.events).toEqual(['up h'])
  })

  it('the same when the overdue timer fires before the socket is read', async () => {
    const bus = new FakeBus()
    const healthy = await member(bus, 'h')
    const paused = await member(bus, 'p')
    await bus.run(1000)
    pause(paused)
    await bus.run(5000)
    paused.clock.resume() // the tick runs first: it sees it is late and holds instead of judging
    expect(paused.membership.holding()).toBe(true)
    paused.connection.paused = false
    paused.connection.drain()
    await settle()
    expect(paused.events).toEqual(['up h', 'quarantined by h'])
    expect(healthy.events).toEqual(['up p', 'down p'])
  })

  it('a pause shorter than the peers\' patience: hold, announce, read, hear every peer answer, resume; nobody is down', async () => {
    const bus = new FakeBus()
    const healthy = await member(bus, 'h')
    const paused = await member(bus, 'p')
    await bus.run(2000)
    pause(paused)
    await bus.run(700)
    expect(resumeReadingFirst(paused)).toBe(true)
    await bus.run(50)
    expect(paused.events).toEqual(['up h'])
    expect(paused.resumes.length).toBe(1)
    expect(paused.membership.holding()).toBe(false)
    expect(paused.membership.stats.holds).toBe(1)
    await bus.run(3000)
    expect(healthy.events).toEqual(['up p'])
    expect(paused.events).toEqual(['up h'])
  })

  it('a stalled server is nobody\'s fault: the link check fails, nobody is declared down, all resume once it runs', async () => {
    const bus = new FakeBus()
    const a = await member(bus, 'a')
    const b = await member(bus, 'b')
    await bus.run(2000)
    bus.stalled = true
    await bus.run(6000)
    expect(a.events).toEqual(['up b'])
    expect(b.events).toEqual(['up a'])
    expect(a.membership.holding()).toBe(true)
    bus.unstall()
    await bus.run(1500)
    expect(a.events.filter((e) => e.startsWith('down'))).toEqual([])
    expect(b.events.filter((e) => e.startsWith('down'))).toEqual([])
    expect(a.membership.holding()).toBe(false)
    expect(a.resumes.length).toBeGreaterThan(0)
    await bus.run(3000)
    expect(a.membership.members()).toEqual(['b'])
    expect(b.membership.members()).toEqual(['a'])
  })

  it('a member paused alongside learns that it was quarantined too, and declares the healthy node down no more than the other', async () => {
    const bus = new FakeBus()
    const healthy = await member(bus, 'h')
    const third = await member(bus, 't')
    const paused = await member(bus, 'p')
    await bus.run(2000)
    pause(paused)
    // Stop the third member from judging on its own: it only hears h's notice.
    pause(third)
    await bus.run(5000)
    expect(healthy.events.slice(0, 2)).toEqual(['up t', 'up p'])
    expect(healthy.events.slice(2).sort()).toEqual(['down p', 'down t'])
    expect(resumeReadingFirst(third)).toBe(true)
    await bus.run(100)
    // t was declared down by h too while it was paused: it learns that as well.
    expect(third.events).toContain('quarantined by h')
    expect(third.events.filter((e) => e === 'down h')).toEqual([])
  })

  it('a third member that was never paused takes the quarantine from the notice, not from its own clock', async () => {
    const bus = new FakeBus()
    const healthy = await member(bus, 'h')
    // A very patient third member: it would not judge p for a long time on its own.
    const connection = bus.connect()
    const clock = new PausableClock(bus.world)
    const patient = new HeartbeatMembership({ connection: connection.asNats(), clock, subject: SUBJECT, node: 't', incarnation: 't-1', intervalMs: 100, timeoutMs: 60_000 })
    const events: string[] = []
    await patient.start({ up: (n) => events.push(`up ${n}`), down: (n) => events.push(`down ${n}`) })
    const paused = await member(bus, 'p')
    await bus.run(2000)
    pause(paused)
    await bus.run(3000)
    expect(healthy.events).toContain('down p')
    expect(events).toEqual(['up h', 'up p', 'down p'])
    resumeReadingFirst(paused)
    await bus.run(1000)
    expect(paused.events).toContain('quarantined by h')
    expect(events).toEqual(['up h', 'up p', 'down p'])
    await patient.stop()
  })

  it('leaving: peers mark the node leaving (not a member for new work), then its leave removes it; nobody is quarantined', async () => {
    const bus = new FakeBus()
    const a = await member(bus, 'a')
    const b = await member(bus, 'b')
    await bus.run(500)
    b.membership.announceLeaving()
    await settle()
    expect(a.events).toEqual(['up b', 'leaving b'])
    expect(a.membership.members()).toEqual([])
    expect(a.membership.isLeaving('b')).toBe(true)
    await bus.run(500)
    expect(a.events).toEqual(['up b', 'leaving b'])
    await b.membership.stop()
    expect(a.events).toEqual(['up b', 'leaving b', 'down b'])
    expect(a.membership.stats.declaredDown).toBe(0)
    // The same name comes back as a new run: a fresh member, not leaving.
    const again = await member(bus, 'b', 'b-2')
    await bus.run(300)
    expect(a.events.at(-1)).toBe('up b')
    expect(a.membership.members()).toEqual(['b'])
    expect(again.events).toEqual(['up a'])
  })

  it('a peer killed for good is declared down once φ passes the threshold, after the link check', async () => {
    const bus = new FakeBus()
    const a = await member(bus, 'a')
    const b = await member(bus, 'b')
    await bus.run(2000)
    pause(b) // never resumed: as good as kill -9
    await bus.run(1000)
    expect(a.events).toEqual(['up b'])
    // Silence = mean + acceptable pause (100 + 900 ms): φ = log10(2), far from the threshold.
    expect(a.membership.phi('b')).toBeCloseTo(Math.log10(2), 1)
    await bus.run(1000)
    expect(a.events).toEqual(['up b', 'down b'])
  })
})
