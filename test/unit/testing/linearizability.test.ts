import { describe, expect, test } from 'vitest'
import { checkLinearizable, registryModel, type Operation, type RegistryInput, type RegistryOutput } from '../../../testing/index.ts'

type Op = Operation<RegistryInput, RegistryOutput>
const reg = (call: number, ret: number, ref: string, unique: boolean, ok: boolean): Op => ({ call, ret, input: { op: 'register', ref, unique }, output: ok ? { ok: true } : { ok: false, code: 'ERR_CLUSTER_NAME_CONFLICT' } })
const look = (call: number, ret: number, refs: string[]): Op => ({ call, ret, input: { op: 'lookup' }, output: { refs } })
const unreg = (call: number, ret: number, ref: string): Op => ({ call, ret, input: { op: 'unregister', ref }, output: { ok: true } })

describe('linearizability checker (known-good and known-bad registry histories)', () => {
  test('sequential history that replays is linearizable', () => {
    expect(checkLinearizable(registryModel, [reg(0, 1, 'a', true, true), look(2, 3, ['a']), unreg(4, 5, 'a'), look(6, 7, [])]).ok).toBe(true)
  })

  test('concurrent unique registrations: exactly one may win, either one', () => {
    expect(checkLinearizable(registryModel, [reg(0, 10, 'a', true, true), reg(1, 9, 'b', true, false)]).ok).toBe(true)
    expect(checkLinearizable(registryModel, [reg(0, 10, 'a', true, false), reg(1, 9, 'b', true, true)]).ok).toBe(true)
    // Both winning is split brain: not linearizable.
    expect(checkLinearizable(registryModel, [reg(0, 10, 'a', true, true), reg(1, 9, 'b', true, true)]).ok).toBe(false)
  })

  test('a stale read after a completed write is caught', () => {
    expect(checkLinearizable(registryModel, [reg(0, 1, 'a', false, true), look(2, 3, [])]).ok).toBe(false)
    // Overlapping with the write, either answer is fine.
    expect(checkLinearizable(registryModel, [reg(0, 5, 'a', false, true), look(2, 3, [])]).ok).toBe(true)
  })

  test('reads must not go back in time (real-time order between reads)', () => {
    const h = [reg(0, 10, 'a', false, true), look(1, 2, ['a']), look(3, 4, [])]
    expect(checkLinearizable(registryModel, h).ok).toBe(false)
  })

  test('an unanswered operation may have happened or not', () => {
    const lost = { call: 0, ret: Infinity, input: { op: 'register', ref: 'a', unique: true }, output: undefined } as const
    expect(checkLinearizable(registryModel, [lost, look(5, 6, ['a'])]).ok).toBe(true)
    expect(checkLinearizable(registryModel, [lost, look(5, 6, [])]).ok).toBe(true)
    // But not both ways: once seen, it stays.
    expect(checkLinearizable(registryModel, [lost, look(5, 6, ['a']), look(7, 8, [])]).ok).toBe(false)
  })

  test('larger concurrent histories finish thanks to memoisation', () => {
    const h: Op[] = []
    for (let i = 0; i < 12; i++) h.push(reg(i, 100 + i, `r${i}`, false, true))
    h.push(look(200, 201, Array.from({ length: 12 }, (_, i) => `r${i}`).sort()))
    const r = checkLinearizable(registryModel, h)
    expect(r.ok).toBe(true)
  })
})
