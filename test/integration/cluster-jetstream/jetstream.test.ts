import { Kvm } from '@nats-io/kv'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import fc from 'fast-check'
import { describe, expect, inject, test } from 'vitest'
import { ClusterMalformedCommandError, ClusterStateErrorCodes, ClusterStateMachine, decodeLeaseHolder, decodeSnapshotRecord, encodeSnapshotRecord, leaseEligible, nextDuty } from '../../../cluster/index.ts'
import { JetStreamTestCluster } from './support.ts'
import { waitForValue } from '../../../testing/index.ts'

const enc = new TextEncoder()
const upAll = (c: JetStreamTestCluster, names: readonly string[]): boolean => names.every((n) => names.every((m) => c.member(n).members().find((x) => x.node === m)?.status === 'up'))

async function withCluster(names: readonly string[], body: (c: JetStreamTestCluster) => Promise<void>, options: ConstructorParameters<typeof JetStreamTestCluster>[1] = {}): Promise<void> {
  const c = new JetStreamTestCluster(inject('natsUrl'), options)
  try {
    for (const n of names) await c.start(n)
    await c.until(() => upAll(c, names), 20_000, 'members up')
    await body(c)
  } finally {
    await c.close()
  }
}

describe('JetStreamClusterState specifics (real JetStream)', () => {
  test('a member whose lease TTL differs from the lease bucket’s refuses to start (two TTLs could mean two holders)', async () => {
    await withCluster(['n1'], async (c) => {
      const refused = await c.open('n2', { leaseTtlMs: 3000 }).then(() => null, (error: unknown) => error)
      expect(refused).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', data: { leaseTtlMs: 3000, bucketTtlMs: 2000 } })
      // The same TTL opens.
      await c.start('n3')
      await c.until(() => upAll(c, ['n1', 'n3']), 20_000, 'n3 up')
    })
  })

  test('hostile log entries are refused alike on every member and never stop the log', async () => {
    await withCluster(['n1', 'n2', 'n3'], async (c) => {
      const nc = await connect({ servers: inject('natsUrl') })
      try {
        const js = jetstream(nc)
        const subject = `troupe.cluster.${c.name}.log`
        const junk = [new Uint8Array([0xff]), new Uint8Array([1, 0xc3, 0x28]), enc.encode('\u0001{"type":"nope"}'), enc.encode('\u0001{"type":"up","node":"n1"}')]
        for (const j of junk) await js.publish(subject, j)
        // Larger than any command: the stream itself refuses it (max_msg_size).
        await expect(js.publish(subject, new Uint8Array(20 * 1024).fill(1))).rejects.toThrow()
      } finally {
        await nc.close()
      }
      await c.member('n1').register('after/junk', 'n1/a')
      const at = c.member('n1').position().appliedIndex
      await c.until(() => ['n2', 'n3'].every((n) => c.member(n).position().appliedIndex === at), 20_000, 'members at one position')
      for (const n of ['n1', 'n2', 'n3']) {
        expect(c.member(n).stats().malformedEntries).toBe(4)
        expect(c.member(n).stats().readErrors).toBe(0)
        expect(Buffer.from(c.member(n).snapshot()).equals(Buffer.from(c.member('n1').snapshot()))).toBe(true)
      }
    })
  })

  test('one lease holder; a lost lease stops duties at once; duties resume under the next holder', async () => {
    await withCluster(['n1', 'n2'], async (c) => {
      await c.until(() => ['n1', 'n2'].filter((n) => c.member(n).holdsLease).length === 1, 10_000, 'exactly one holder')
      const holder = ['n1', 'n2'].find((n) => c.member(n).holdsLease) as string
      // Somebody else takes the key (an operator, a partitioned former holder's successor): the holder's renewal fails.
      const kv = await new Kvm(c.connection('n1')).open(`troupe_cluster_${c.name}_lease`)
      await kv.put('leader', enc.encode(JSON.stringify({ node: 'elsewhere', incarnation: 1 })))
      await c.until(() => !c.member(holder).holdsLease, 5000, 'holder noticed the loss')
      // While the foreign lease is on the server, no member believes it holds one (so none runs duties).
      const foreign = async (): Promise<boolean> => {
        const e = await kv.get('leader')
        return e !== null && e.operation === 'PUT' && decodeLeaseHolder(e.value)?.node === 'elsewhere'
      }
      const n3 = await c.open('n3')
      await n3.join({ roles: [], shards: 1, httpAddress: 'http://n3', appVersion: '1' })
      const holders = ['n1', 'n2', 'n3'].filter((n) => c.member(n).holdsLease)
      if (await foreign()) expect(holders).toEqual([])
      // Once it runs out, a member takes the lease and its duties move the joiner up.
      await c.until(() => n3.members().find((m) => m.node === 'n3')?.status === 'up', 15_000, 'n3 up under the next holder')
      await c.until(() => ['n1', 'n2', 'n3'].some((n) => c.member(n).holdsLease), 5000, 'a member holds the lease')
      await c.until(() => c.member('n1').leader() !== null && c.member('n1').leader()?.node !== 'elsewhere', 5000, 'n1 sees the new holder')
    }, { leaseTtlMs: 2000 })
  })

  test('JetStream failures are ERR_CLUSTER_NO_QUORUM with the cause attached', async () => {
    await withCluster(['n1'], async (c) => {
      const n1 = c.member('n1')
      await c.connection('n1').close()
      const write = await n1.register('k', 'n1/a').catch((e: unknown) => e)
      expect(write).toMatchObject({ code: ClusterStateErrorCodes.NoQuorum })
      expect((write as Error).cause).toBeDefined()
      await expect(n1.lookup('k')).rejects.toMatchObject({ code: ClusterStateErrorCodes.NoQuorum })
    })
  })

  test('the log is compacted behind a stored snapshot; a malformed stored snapshot is replaced', async () => {
    await withCluster(['n1', 'n2'], async (c) => {
      const nc = c.connection('n1')
      const jsm = await jetstreamManager(nc)
      const kv = await new Kvm(nc).open(`troupe_cluster_${c.name}`)
      await kv.put('snapshot', new Uint8Array([9, 9, 9]))
      // A member opening now ignores the junk snapshot and replays the (not yet compacted) log.
      const n3 = await c.open('n3')
      expect(n3.stats().snapshotsRestored).toBe(0)
      for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => c.member('n1').register(`compact/${i + j}`, `n1/${i + j}`)))
      await c.until(() => ['n1', 'n2'].some((n) => c.member(n).stats().snapshotsWritten > 0), 20_000, 'a snapshot written')
      // Compaction follows the snapshot's write (the leader purges once the KV put returned).
      const info = await waitForValue(() => jsm.streams.info(`TROUPE_CLUSTER_${c.name}`), (i) => i.state.first_seq > 1, { timeoutMs: 20_000 })
      const stored = await kv.get('snapshot')
      expect(decodeSnapshotRecord(stored?.value as Uint8Array).seq).toBeGreaterThanOrEqual(info.state.first_seq - 1)
      const n4 = await c.open('n4')
      expect(n4.stats().snapshotsRestored).toBe(1)
      await c.until(() => n4.position().appliedIndex === c.member('n1').position().appliedIndex, 20_000, 'n4 caught up')
      expect(Buffer.from(n4.snapshot()).equals(Buffer.from(c.member('n1').snapshot()))).toBe(true)
    }, { snapshotEvery: 16, retainEntries: 4 })
  })

  test('a member behind the compaction point reloads a covering snapshot once one is stored (gap path)', async () => {
    await withCluster(['n1', 'n2'], async (c) => {
      const nc = c.connection('n1')
      const jsm = await jetstreamManager(nc)
      const kv = await new Kvm(nc).open(`troupe_cluster_${c.name}`)
      const stream = `TROUPE_CLUSTER_${c.name}`
      const writes = async (from: number, count: number): Promise<void> => {
        for (let i = from; i < from + count; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => c.member('n1').register(`gap/${i + j}`, `n1/${i + j}`)))
      }
      const storedSeq = async (): Promise<number> => {
        const e = await kv.get('snapshot')
        return e === null || e.operation !== 'PUT' ? 0 : decodeSnapshotRecord(e.value).seq
      }
      await writes(0, 40)
      let old = 0
      await c.until(() => c.member('n1').stats().snapshotsWritten + c.member('n2').stats().snapshotsWritten > 0, 20_000, 'a first snapshot')
      const oldEntry = await kv.get('snapshot')
      old = decodeSnapshotRecord(oldEntry?.value as Uint8Array).seq
      await writes(40, 40)
      const applied = (): number => c.member('n1').position().appliedIndex
      // Wait until the holder has nothing left to snapshot, so the old snapshot put back below stays the stored one.
      for (let i = 0; i < 200 && !((await storedSeq()) > applied() - 16 && (await jsm.streams.info(stream)).state.first_seq > old + 1); i++) await c.delay(50)
      expect((await jsm.streams.info(stream)).state.first_seq).toBeGreaterThan(old + 1)
      // A foreign lease keeps every member from snapshotting until it runs out (TTL 2 s)...
      const leases = await new Kvm(nc).open(`troupe_cluster_${c.name}_lease`)
      await leases.put('leader', enc.encode(JSON.stringify({ node: 'elsewhere', incarnation: 1 })))
      await c.until(() => !c.member('n1').holdsLease && !c.member('n2').holdsLease, 5000, 'no holder among the members')
      // ...and an operator puts the old snapshot back: a member starting now begins before the compaction point.
      await kv.put('snapshot', oldEntry?.value as Uint8Array)
      const opening = c.open('n3', { retryMs: 100 })
      // n3 cannot go on until a holder stores a covering snapshot (lease back, then snapshotEvery more entries).
      await writes(80, 30)
      const n3 = await opening
      expect(n3.stats().snapshotsRestored).toBeGreaterThanOrEqual(2)
      expect(n3.stats().readErrors).toBeGreaterThan(0)
      await c.until(() => n3.position().appliedIndex === c.member('n1').position().appliedIndex, 20_000, 'n3 caught up')
      expect(Buffer.from(n3.snapshot()).equals(Buffer.from(c.member('n1').snapshot()))).toBe(true)
    }, { snapshotEvery: 16, retainEntries: 0 })
  })
})

describe('JetStream backend codecs and duties (pure)', () => {
  test('snapshot records round-trip; hostile records are ERR_CLUSTER_MALFORMED_COMMAND', () => {
    fc.assert(
      fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.uint8Array({ maxLength: 64 }), (seq, state) => {
        const back = decodeSnapshotRecord(encodeSnapshotRecord({ seq, state }))
        expect(back.seq).toBe(seq)
        expect([...back.state]).toEqual([...state])
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (junk) => {
        try {
          decodeSnapshotRecord(junk)
        } catch (error) {
          expect(error).toBeInstanceOf(ClusterMalformedCommandError)
        }
      }),
    )
    expect(() => decodeSnapshotRecord(new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(ClusterMalformedCommandError)
  })

  test('lease values from anyone else decode to null, never throw', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => void decodeLeaseHolder(junk)))
    expect(decodeLeaseHolder(enc.encode('{"node":"a","incarnation":2}'))).toEqual({ node: 'a', incarnation: 2 })
    expect(decodeLeaseHolder(enc.encode('{"node":"","incarnation":2}'))).toBeNull()
    expect(decodeLeaseHolder(enc.encode('{"node":"a","incarnation":-1}'))).toBeNull()
  })

  test('duties: joining → up, leaving → exit, down → remove; a leaving member holds the lease only alone', () => {
    const sm = new ClusterStateMachine()
    const join = (node: string, i: number): void => void sm.apply({ type: 'join', node, incarnation: 1, roles: [], shards: 1, httpAddress: '', appVersion: '1' }, i, 1)
    join('a', 1)
    expect(nextDuty(sm)).toEqual({ type: 'up', node: 'a', incarnation: 1 })
    sm.apply({ type: 'up', node: 'a', incarnation: 1 }, 2, 1)
    join('b', 3)
    sm.apply({ type: 'up', node: 'b', incarnation: 1 }, 4, 1)
    expect(nextDuty(sm)).toBeNull()
    sm.apply({ type: 'leave', node: 'a', incarnation: 1 }, 5, 1)
    expect(nextDuty(sm)).toEqual({ type: 'exit', node: 'a', incarnation: 1 })
    expect(leaseEligible(sm, { node: 'a', incarnation: 1 })).toBe(false)
    expect(leaseEligible(sm, { node: 'b', incarnation: 1 })).toBe(true)
    sm.apply({ type: 'down', node: 'b', incarnation: 1, reason: 'test' }, 6, 1)
    expect(leaseEligible(sm, { node: 'a', incarnation: 1 })).toBe(true)
    expect(leaseEligible(sm, { node: 'b', incarnation: 1 })).toBe(false)
  })
})
