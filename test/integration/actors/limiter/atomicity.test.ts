/**
 * Cluster-wide atomicity: 3 processes, each with its own Redis connection and 50 concurrent
 * callers, on one key. Every admission is stamped with the Redis server time the script read, so
 * the bound is checked on the one clock that decided: never more than N in any window.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import type { AlgorithmSpec } from '../../../../actors/index.ts'
import { uniqueRedisPrefix } from '../../../support/dataServices.ts'

const worker = fileURLToPath(new URL('./atomicityWorker.ts', import.meta.url))

type Result = { admitted: number[]; refused: number }

function runWorker(url: string, prefix: string, specs: AlgorithmSpec[], callers: number, durationMs: number): Promise<Result[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, url, prefix, JSON.stringify(specs), String(callers), String(durationMs)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker exited with ${code}: ${err}`))
      else resolve(JSON.parse(out.trim()) as Result[])
    })
  })
}

const SPECS: AlgorithmSpec[] = [
  { algorithm: 'sliding-log', limit: 25, windowMs: 500 },
  { algorithm: 'gcra', maxBurst: 9, countPerPeriod: 20, periodMs: 1000 },
  { algorithm: 'fixed-window', limit: 30, windowMs: 400 },
]

/** Per spec: every admission time of the three processes, sorted, and the refusals. */
let merged: { times: number[]; refused: number }[] = []

// The three processes run every spec at once (each spec on its own key), so the run costs one
// process start-up, not three: start-up dominates on a loaded machine.
beforeAll(async () => {
  const prefix = uniqueRedisPrefix('atomic')
  const runs = await Promise.all([0, 1, 2].map(() => runWorker(inject('redisUrl'), prefix, SPECS, 50, 2500)))
  merged = SPECS.map((_, i) => ({
    times: runs.flatMap((r) => (r[i] as Result).admitted).sort((a, b) => a - b),
    refused: runs.reduce((sum, r) => sum + (r[i] as Result).refused, 0),
  }))
}, 120_000)

const hammer = (spec: AlgorithmSpec): { times: number[]; refused: number } => merged[SPECS.indexOf(spec)] as { times: number[]; refused: number }

describe('cluster-wide atomicity: 3 processes × 50 concurrent callers on one key', () => {
  it('sliding log: never more than N admitted in any window of the server clock', () => {
    const { times, refused } = hammer(SPECS[0] as AlgorithmSpec)
    expect(refused).toBeGreaterThan(0)
    expect(times.length).toBeGreaterThanOrEqual(25)
    // For each admission at t, those in (t - window, t] must number at most N.
    let from = 0
    for (let i = 0; i < times.length; i++) {
      while ((times[from] as number) <= (times[i] as number) - 500) from++
      expect(i - from + 1).toBeLessThanOrEqual(25)
    }
  })

  it('GCRA: admitted in [t1, t2] never exceeds limit + (t2 - t1) / emission', () => {
    const { times } = hammer(SPECS[1] as AlgorithmSpec)
    // emission 50 ms, limit 10: check every pair (sorted, so windows [times[i], times[j]]).
    for (let i = 0; i < times.length; i++) {
      for (let j = i; j < times.length; j++) expect(j - i + 1).toBeLessThanOrEqual(10 + ((times[j] as number) - (times[i] as number)) / 50 + 1e-6)
    }
    // And the long-run rate is the configured one: about 20/s over 2.5 s plus the burst.
    expect(times.length).toBeLessThanOrEqual(10 + Math.ceil(((times.at(-1) as number) - (times[0] as number)) / 50) + 1)
  })

  it('fixed window: never more than N admitted per window', () => {
    const { times } = hammer(SPECS[2] as AlgorithmSpec)
    let start = -Infinity
    let used = 0
    for (const t of times) {
      if (t >= start + 400) {
        start = t
        used = 0
      }
      used++
      expect(used).toBeLessThanOrEqual(30)
    }
  })
})
