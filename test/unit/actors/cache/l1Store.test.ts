/**
 * L1 data structures: a fast-check model test of the LRU (bounds by entries and bytes hold after
 * every command, and the victim is always the least recently used), W-TinyLFU keeping a hot set
 * under a scan, and the Bloom filter's false-positive rate.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BloomFilter, L1Store, type CacheNode } from '../../../../actors/index.ts'

const node = (key: string, bytes: number): CacheNode<string> => ({ key, value: key, negative: false, bytes, freshUntil: Infinity, staleUntil: Infinity, version: 0, tags: null, segment: 0, prev: null, next: null })

type Command = { op: 'put'; key: string; bytes: number } | { op: 'get'; key: string } | { op: 'delete'; key: string }

const commands = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('put' as const), key: fc.integer({ min: 0, max: 30 }).map(String), bytes: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ op: fc.constant('get' as const), key: fc.integer({ min: 0, max: 30 }).map(String) }),
    fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 30 }).map(String) }),
  ),
  { maxLength: 300 },
)

describe('L1Store (LRU) against a model', () => {
  it('never exceeds its bounds and always evicts the least recently used', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 40, max: 200 }), commands, (maxEntries, maxBytes, cmds: Command[]) => {
        const store = new L1Store<string>({ maxEntries, maxBytes, tinyLfu: false })
        // The model: keys most recently used first, with their sizes.
        let model: { key: string; bytes: number }[] = []
        for (const c of cmds) {
          if (c.op === 'get') {
            const hit = store.get(c.key, 0)
            const at = model.findIndex((e) => e.key === c.key)
            expect(hit !== undefined).toBe(at >= 0)
            if (at >= 0) model = [model[at]!, ...model.slice(0, at), ...model.slice(at + 1)]
          } else if (c.op === 'delete') {
            store.delete(c.key)
            model = model.filter((e) => e.key !== c.key)
          } else {
            const kept = store.put(node(c.key, c.bytes), 0)
            model = model.filter((e) => e.key !== c.key)
            if (c.bytes <= maxBytes) {
              model.unshift({ key: c.key, bytes: c.bytes })
              const total = () => model.reduce((s, e) => s + e.bytes, 0)
              while (model.length > maxEntries || total() > maxBytes) model.pop()
            }
            expect(kept).toBe(c.bytes <= maxBytes)
          }
          expect(store.size).toBeLessThanOrEqual(maxEntries)
          expect(store.bytes).toBeLessThanOrEqual(maxBytes)
          expect(store.keys()).toEqual(model.map((e) => e.key))
          expect(store.bytes).toBe(model.reduce((s, e) => s + e.bytes, 0))
        }
      }),
      { numRuns: Number(process.env['CACHE_PROPERTY_RUNS'] ?? 200) },
    )
  })

  it('W-TinyLFU keeps its bounds under any command sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 40, max: 200 }), commands, (maxEntries, maxBytes, cmds: Command[]) => {
        const store = new L1Store<string>({ maxEntries, maxBytes, tinyLfu: true })
        for (const c of cmds) {
          if (c.op === 'get') store.get(c.key, 0)
          else if (c.op === 'delete') store.delete(c.key)
          else store.put(node(c.key, c.bytes), 0)
          expect(store.size).toBeLessThanOrEqual(maxEntries)
          expect(store.bytes).toBeLessThanOrEqual(maxBytes)
          expect(new Set(store.keys()).size).toBe(store.size)
        }
      }),
      { numRuns: Number(process.env['CACHE_PROPERTY_RUNS'] ?? 200) },
    )
  })

  it('W-TinyLFU keeps a hot set that a one-pass scan would flush out of a plain LRU', () => {
    const run = (tinyLfu: boolean): number => {
      const store = new L1Store<string>({ maxEntries: 100, maxBytes: 1e9, tinyLfu })
      const hot = Array.from({ length: 80 }, (_, i) => `hot-${i}`)
      for (let round = 0; round < 5; round++) for (const k of hot) if (store.get(k, 0) === undefined) store.put(node(k, 1), 0)
      for (let i = 0; i < 1_000; i++) if (store.get(`scan-${i}`, 0) === undefined) store.put(node(`scan-${i}`, 1), 0)
      return hot.filter((k) => store.peek(k) !== undefined).length
    }
    expect(run(false)).toBe(0)
    expect(run(true)).toBeGreaterThanOrEqual(75)
  })

  it('drops expired entries on access and counts them', () => {
    const store = new L1Store<string>({ maxEntries: 10, maxBytes: 1e9, tinyLfu: false })
    store.put({ ...node('a', 1), freshUntil: 10, staleUntil: 20 }, 0)
    expect(store.get('a', 15)).toBeDefined()
    expect(store.get('a', 20)).toBeUndefined()
    expect(store.counters.evictedExpired).toBe(1)
  })
})

describe('BloomFilter', () => {
  it('has no false negatives and about the target false-positive rate', () => {
    const bloom = new BloomFilter(10_000, 0.01)
    for (let i = 0; i < 10_000; i++) bloom.add(`key-${i}`)
    for (let i = 0; i < 10_000; i++) expect(bloom.mightContain(`key-${i}`)).toBe(true)
    let fp = 0
    for (let i = 0; i < 20_000; i++) if (bloom.mightContain(`other-${i}`)) fp++
    expect(fp / 20_000).toBeLessThan(0.02)
  })
})
