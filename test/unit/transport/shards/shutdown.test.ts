import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const script = fileURLToPath(new URL('./shutdownMain.ts', import.meta.url))

/** Runs the script in a fresh node process; resolves with its exit code and output, or kills it at the deadline. */
function run(mode: 'clean' | 'stuck' | 'stray', deadlineMs: number): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, ['--import', 'tsx', script, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
  })
}

describe('sharded system shutdown', () => {
  it('stops every shard children first, ends the workers, and the process exits by itself', async () => {
    const result = await run('clean', 25_000)
    const took = Number(/^terminate took (\d+) ms$/m.exec(result.stderr)?.[1])
    expect(result.stderr.replace(/^terminate took \d+ ms\n/m, '')).toBe('')
    expect(result.signal).toBeNull()
    expect(result.code).toBe(0)
    const lines = result.stdout.trim().split('\n')
    expect(lines.at(-1)).toBe('terminated states=stopped,stopped,stopped')
    for (const shard of [1, 2]) {
      const child = lines.indexOf(`stopped shard=${shard} /user/parent/child`)
      const parent = lines.indexOf(`stopped shard=${shard} /user/parent`)
      expect(child).toBeGreaterThanOrEqual(0)
      expect(parent).toBeGreaterThan(child)
    }
    // Nothing waited for a deadline: well under the 10 s shutdown timeout.
    expect(took).toBeLessThan(5000)
  }, 30_000)

  it('ends a shard that cannot finish stopping at the shutdown deadline, and the process still exits', async () => {
    const result = await run('stuck', 25_000)
    const took = Number(/^terminate took (\d+) ms$/m.exec(result.stderr)?.[1])
    expect(result.stderr.replace(/^terminate took \d+ ms\n/m, '')).toBe('')
    // The 1 s deadline ended shard 1; the process did not wait for anything longer.
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(took).toBeLessThan(6000)
    expect(result.signal).toBeNull()
    expect(result.code).toBe(0)
    expect(result.stdout.trim().split('\n').at(-1)).toBe('terminated states=stopped,stopped,stopped')
    // Shard 1 was ended at the 1 s deadline; shard 2 stopped cleanly on its own.
    expect(result.stdout).toContain('stopped shard=2 /user/parent\n')
    expect(result.stdout).not.toContain('stopped shard=1 /user/hanger\n')
  }, 30_000)

  it('ends a worker once its actors have stopped, whatever host timers it left', async () => {
    const result = await run('stray', 25_000)
    const took = Number(/^terminate took (\d+) ms$/m.exec(result.stderr)?.[1])
    expect(result.stderr.replace(/^terminate took \d+ ms\n/m, '')).toBe('')
    expect(result.signal).toBeNull()
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('stopped shard=2 /user/stray\n')
    expect(result.stdout.trim().split('\n').at(-1)).toBe('terminated states=stopped,stopped,stopped')
    // The interval would have held shard 2 until the 20 s deadline.
    expect(took).toBeLessThan(5000)
  }, 30_000)
})
