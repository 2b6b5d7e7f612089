import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  ClusterMalformedCommandError,
  ClusterStateMachine,
  decodeCommand,
  encodeCommand,
  nextVoterStep,
  type ClusterCommand,
} from '../../../../cluster/membership/index.ts'

const join = (node: string, incarnation = 1, roles: string[] = []): ClusterCommand => ({ type: 'join', node, incarnation, roles, shards: 1, httpAddress: '', appVersion: '1' })

function run(cmds: readonly ClusterCommand[], sm = new ClusterStateMachine(), from = 1): { sm: ClusterStateMachine; errors: (string | null)[] } {
  const errors = cmds.map((c, i) => sm.apply(decodeCommand(encodeCommand(c)), from + i, 1).error?.code ?? null)
  return { sm, errors }
}

function cluster(n: number): ClusterStateMachine {
  const cmds: ClusterCommand[] = []
  for (let i = 1; i <= n; i++) cmds.push(join(`n${i}`), { type: 'up', node: `n${i}`, incarnation: 1 })
  return run(cmds).sm
}

const suspect = (observer: string, node: string, suspected = true): ClusterCommand => ({ type: 'suspect', observer, observerIncarnation: 1, node, incarnation: 1, suspected })

describe('ClusterStateMachine: members', () => {
  test('lifecycle joining → up → leaving → exiting → removed; the epoch counts status changes', () => {
    const { sm, errors } = run([join('a'), { type: 'up', node: 'a', incarnation: 1 }, { type: 'leave', node: 'a', incarnation: 1 }, { type: 'exit', node: 'a', incarnation: 1 }, { type: 'remove', node: 'a', incarnation: 1 }])
    expect(errors).toEqual([null, null, null, null, null])
    expect(sm.members()).toEqual([])
    expect(sm.epoch).toBe(5)
    expect(sm.isQuarantined('a', 1)).toBe(true)
  })

  test('invalid transitions and unknown members are refused with stable codes, state untouched', () => {
    const { sm, errors } = run([join('a'), { type: 'exit', node: 'a', incarnation: 1 }, { type: 'up', node: 'b', incarnation: 1 }, { type: 'up', node: 'a', incarnation: 2 }])
    expect(errors).toEqual([null, 'ERR_CLUSTER_INVALID_TRANSITION', 'ERR_CLUSTER_UNKNOWN_MEMBER', 'ERR_CLUSTER_UNKNOWN_MEMBER'])
    expect(sm.member('a')?.status).toBe('joining')
  })

  test('a downed incarnation is quarantined: it cannot rejoin; a new incarnation can', () => {
    const sm = cluster(3)
    const r = run([{ type: 'down', node: 'n3', incarnation: 1, reason: 'test' }, join('n3', 1), join('n3', 2)], sm, 100)
    expect(r.errors).toEqual([null, 'ERR_CLUSTER_INVALID_TRANSITION', null])
    expect(sm.member('n3')).toMatchObject({ incarnation: 2, status: 'joining' })
  })

  test('a newer incarnation joining downs the old one (it restarted)', () => {
    const sm = cluster(2)
    run([join('n2', 5)], sm, 100)
    expect(sm.member('n2')).toMatchObject({ incarnation: 5, status: 'joining' })
    expect(sm.isQuarantined('n2', 1)).toBe(true)
    expect(run([{ type: 'up', node: 'n2', incarnation: 1 }], sm, 200).errors).toEqual(['ERR_CLUSTER_UNKNOWN_MEMBER'])
  })
})

describe('ClusterStateMachine: downing by a majority of observers', () => {
  test('5 members: 2 of 4 observers do not down; the 3rd does; reports from a downed observer are ignored', () => {
    const sm = cluster(5)
    run([suspect('n1', 'n5'), suspect('n2', 'n5')], sm, 100)
    expect(sm.member('n5')?.status).toBe('up')
    run([suspect('n3', 'n5')], sm, 200)
    expect(sm.member('n5')?.status).toBe('down')
    // n5 (downed) suspecting n1 counts for nothing.
    run([suspect('n5', 'n1')], sm, 300)
    expect(sm.suspectedBy('n1')).toEqual([])
  })

  test('a withdrawn suspicion no longer counts', () => {
    const sm = cluster(3)
    run([suspect('n1', 'n3'), suspect('n1', 'n3', false), suspect('n2', 'n3')], sm, 100)
    expect(sm.member('n3')?.status).toBe('up')
  })

  test('partition 3|2 seen from the majority: both minority members go down, the majority stays up', () => {
    const sm = cluster(5)
    const cmds: ClusterCommand[] = []
    for (const o of ['n1', 'n2', 'n3']) for (const t of ['n4', 'n5']) cmds.push(suspect(o, t))
    run(cmds, sm, 100)
    expect(sm.members().map((m) => m.status)).toEqual(['up', 'up', 'up', 'down', 'down'])
  })

  test('the minority\'s reports alone can never down a majority member (property over report orders)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('n4', 'n5'), fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5'), fc.boolean()), { maxLength: 40 }), (reports) => {
        const sm = cluster(5)
        run(reports.map(([o, t, s]) => suspect(o, t, s)), sm, 100)
        return ['n1', 'n2', 'n3'].every((n) => sm.member(n)?.status === 'up')
      }),
    )
  })
})

describe('ClusterStateMachine: registry', () => {
  test('register, lookup, unregister; unique names conflict; actor death and node down remove entries', () => {
    const sm = cluster(2)
    const reg = (key: string, ref: string, node: string, unique = false): ClusterCommand => ({ type: 'register', key, ref, node, incarnation: 1, unique })
    const r = run([reg('svc', 'a1', 'n1'), reg('svc', 'b1', 'n2'), reg('svc', 'c1', 'n1', true), reg('lock', 'a2', 'n1', true), reg('lock', 'b2', 'n2'), reg('lock', 'a2', 'n1', true), reg('x', 'z', 'n9')], sm, 100)
    expect(r.errors).toEqual([null, null, 'ERR_CLUSTER_NAME_CONFLICT', null, 'ERR_CLUSTER_NAME_CONFLICT', null, 'ERR_CLUSTER_UNKNOWN_MEMBER'])
    expect(sm.lookup('svc').map((e) => e.ref)).toEqual(['a1', 'b1'])
    run([{ type: 'actorDied', ref: 'a1' }], sm, 200)
    expect(sm.lookup('svc').map((e) => e.ref)).toEqual(['b1'])
    run([{ type: 'down', node: 'n2', incarnation: 1, reason: 't' }], sm, 300)
    expect(sm.lookup('svc')).toEqual([])
    run([{ type: 'unregister', key: 'lock', ref: 'a2' }], sm, 400)
    expect(sm.keys()).toEqual([])
    // Once free, the unique name can be taken by another actor.
    expect(run([reg('lock', 'a3', 'n1', true)], sm, 500).errors).toEqual([null])
  })
})

describe('ClusterStateMachine: singletons', () => {
  test('placed on the oldest up member with the role; moved on leave and on down, with a growing fencing token', () => {
    const sm = run([join('a', 1, ['x']), join('b', 1, ['x']), join('c', 1, []), { type: 'up', node: 'c', incarnation: 1 }, { type: 'singleton', name: 'S', role: 'x' }]).sm
    expect(sm.placement('S')).toMatchObject({ node: null, version: 1 })
    run([{ type: 'up', node: 'b', incarnation: 1 }, { type: 'up', node: 'a', incarnation: 1 }], sm, 10)
    expect(sm.placement('S')).toMatchObject({ node: 'b', version: 2 })
    run([{ type: 'leave', node: 'b', incarnation: 1 }], sm, 20)
    expect(sm.placement('S')).toMatchObject({ node: 'a', version: 3 })
    sm.apply({ type: 'down', node: 'a', incarnation: 1, reason: 't' }, 30, 7)
    expect(sm.placement('S')).toMatchObject({ node: null, version: 4, term: 7 })
  })
})

// A random command stream over a small universe, so commands interact.
const nodeA = fc.constantFrom('n1', 'n2', 'n3', 'n4')
const inc = fc.integer({ min: 1, max: 3 })
const commandArb: fc.Arbitrary<ClusterCommand> = fc.oneof(
  fc.record({ node: nodeA, incarnation: inc, roles: fc.subarray(['x', 'y']) }).map((r) => join(r.node, r.incarnation, r.roles)),
  fc.record({ type: fc.constantFrom('up', 'leave', 'exit', 'remove'), node: nodeA, incarnation: inc }) as fc.Arbitrary<ClusterCommand>,
  fc.record({ node: nodeA, incarnation: inc }).map((r): ClusterCommand => ({ type: 'down', ...r, reason: 'r' })),
  fc.record({ observer: nodeA, observerIncarnation: inc, node: nodeA, incarnation: inc, suspected: fc.boolean() }).map((r): ClusterCommand => ({ type: 'suspect', ...r })),
  fc.record({ key: fc.constantFrom('k1', 'k2'), ref: fc.constantFrom('r1', 'r2', 'r3'), node: nodeA, incarnation: inc, unique: fc.boolean() }).map((r): ClusterCommand => ({ type: 'register', ...r })),
  fc.record({ key: fc.constantFrom('k1', 'k2'), ref: fc.constantFrom('r1', 'r2', 'r3') }).map((r): ClusterCommand => ({ type: 'unregister', ...r })),
  fc.constantFrom('r1', 'r2', 'r3').map((ref): ClusterCommand => ({ type: 'actorDied', ref })),
  fc.record({ name: fc.constantFrom('S', 'T'), role: fc.constantFrom(null, 'x') }).map((r): ClusterCommand => ({ type: 'singleton', ...r })),
)

describe('ClusterStateMachine: determinism and snapshots (properties)', () => {
  test('same log ⇒ same state; snapshot at any point, restore, continue ⇒ same state', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 60 }), fc.nat(), (cmds, cutAt) => {
        const a = run(cmds).sm.snapshot()
        expect(run(cmds).sm.snapshot()).toEqual(a)
        const cut = cmds.length === 0 ? 0 : cutAt % cmds.length
        const first = run(cmds.slice(0, cut)).sm
        const restored = ClusterStateMachine.restore(first.snapshot())
        expect(restored.snapshot()).toEqual(first.snapshot())
        expect(run(cmds.slice(cut), restored, cut + 1).sm.snapshot()).toEqual(a)
      }),
      { numRuns: 300 },
    )
  })

  test('invariants hold after any command stream: unique keys have one entry, entries belong to live members, placements on up members', () => {
    fc.assert(
      fc.property(fc.array(commandArb, { maxLength: 80 }), (cmds) => {
        const { sm } = run(cmds)
        for (const key of sm.keys()) for (const e of sm.lookup(key)) expect(['joining', 'up', 'leaving']).toContain(sm.member(e.node)?.incarnation === e.incarnation ? sm.member(e.node)?.status : 'gone')
        for (const p of sm.placements()) if (p.node !== null) expect(sm.member(p.node)).toMatchObject({ status: 'up', incarnation: p.incarnation })
      }),
      { numRuns: 300 },
    )
  })
})

describe('command codec: hostile bytes', () => {
  test('round trip of every command kind', () => {
    fc.assert(
      fc.property(commandArb, (c) => {
        const once = decodeCommand(encodeCommand(c))
        expect(decodeCommand(encodeCommand(once))).toEqual(once)
        expect(once.type).toBe(c.type)
      }),
    )
  })

  test('junk, truncations, wrong versions, bad fields: always ERR_CLUSTER_MALFORMED_COMMAND', () => {
    const bad = (bytes: Uint8Array): void => {
      expect(() => decodeCommand(bytes)).toThrow(ClusterMalformedCommandError)
    }
    const ok = encodeCommand(join('a'))
    for (let i = 0; i < ok.length - 1; i++) bad(ok.subarray(0, i))
    bad(new Uint8Array([2, ...ok.subarray(1)]))
    bad(new Uint8Array([1, 0xff, 0xfe]))
    bad(new Uint8Array(20_000).fill(1))
    const e = new TextEncoder()
    for (const body of ['{"type":"join","node":"a","incarnation":0,"roles":[],"shards":1,"httpAddress":"","appVersion":""}', '{"type":"nope"}', '[1]', 'null', '{"type":"up","node":"","incarnation":1}', '{"type":"up","node":"a","incarnation":1.5}', '{"type":"singleton","name":"s","role":3}'])
      bad(new Uint8Array([1, ...e.encode(body)]))
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        try {
          decodeCommand(junk)
        } catch (error) {
          expect(error).toBeInstanceOf(ClusterMalformedCommandError)
        }
      }),
    )
  })

  test('hostile snapshots are refused with the same code', () => {
    const e = new TextEncoder()
    for (const body of ['{}', '{"applied":1,"term":1,"epoch":1,"upCounter":0,"members":[{"node":"a"}]}', '{"applied":-1}'])
      expect(() => ClusterStateMachine.restore(new Uint8Array([1, ...e.encode(body)]))).toThrow(ClusterMalformedCommandError)
  })
})

describe('voter policy', () => {
  const m = (node: string, upNumber: number, status: 'up' | 'down' | 'joining' = 'up') => ({ node, incarnation: 1, status, roles: [], shards: 1, httpAddress: '', appVersion: '', upNumber })
  test('first 3 up members vote; others are learners; a downed voter is removed and replaced', () => {
    const members = [m('a', 1), m('b', 2), m('c', 3, 'down'), m('d', 4)]
    let config = { voters: ['a#1', 'b#1', 'c#1'], learners: [] as string[] }
    const steps: string[] = []
    for (let i = 0; i < 10; i++) {
      const s = nextVoterStep(members, config, 3, 'a#1')
      if (s === null) break
      steps.push(`${s.type} ${s.id}`)
      if (s.type === 'remove' || s.type === 'demote') config = { voters: config.voters.filter((v) => v !== s.id), learners: config.learners.filter((v) => v !== s.id) }
      else if (s.type === 'addLearner') config = { ...config, learners: [...config.learners, s.id] }
      else config = { voters: [...config.voters, s.id], learners: config.learners.filter((v) => v !== s.id) }
    }
    expect(steps).toEqual(['remove c#1', 'addLearner d#1', 'promote d#1'])
    expect(config.voters.sort()).toEqual(['a#1', 'b#1', 'd#1'])
  })
})
