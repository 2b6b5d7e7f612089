import { afterEach, describe, expect, it } from 'vitest'
import { FaultsCluster, eventually, logLines } from './faultsSupport.ts'

let cluster: FaultsCluster | null = null
afterEach(async () => {
  await cluster?.close()
  cluster = null
})

describe('operator logs and worker shutdown (real node)', () => {
  it('writes a crash report per actor failure (main thread and worker shard), restarts, shard crash and restart, rate-limited dead letters', async () => {
    const faults = (cluster = new FaultsCluster())
    const node = faults.start('logs', ['--shards', '2'])
    await node.waitForLog((line) => line['msg'] === 'node started')
    const control = await faults.control('logs')

    await control.ask('crash', 0, 'on main')
    await control.ask('crash', 1, 'on a worker')
    for (const shard of [undefined, 1]) {
      const report = await node.waitForLog((line) => line['msg'] === 'actor failed' && line['shard'] === shard)
      expect(report).toMatchObject({
        level: 50,
        path: '/user/crash-sup/crasher',
        actorClass: 'Crasher',
        method: 'boom',
        code: 'ERR_INVALID_ARGUMENT',
        err: { type: 'InvalidArgumentError', message: `crasher told to fail: ${shard === 1 ? 'on a worker' : 'on main'}` },
      })
      expect(String((report['err'] as { stack: string }).stack)).toContain('boom')
      // The supervisor's decision: the child restarted in place.
      await node.waitForLog((line) => line['msg'] === 'actor restarted' && line['path'] === '/user/crash-sup/crasher' && line['shard'] === shard)
    }
    // Exactly one crash report per failure.
    expect(logLines(node).filter((line) => line['msg'] === 'actor failed')).toHaveLength(2)

    // A shard crash and its restart.
    await control.ask('crashShard', 2)
    expect(await node.waitForLog((line) => line['msg'] === 'worker shard crashed')).toMatchObject({ level: 50, shard: 2, exitCode: 7 })
    expect(await node.waitForLog((line) => line['msg'] === 'worker shard restarted')).toMatchObject({ level: 30, shard: 2, restarts: 1 })

    // 100 dead letters: one line now; the next line (10 s later) says how many were held back.
    await control.ask('deadLetters', 100)
    const first = await node.waitForLog((line) => line['msg'] === 'dead letter' && line['reason'] === 'stopped')
    expect(first).toMatchObject({ level: 40, target: '/user/nobody', method: 'record', suppressed: 0 })
    const dead = (): Record<string, unknown>[] => logLines(node).filter((line) => line['msg'] === 'dead letter' && line['reason'] === 'stopped')
    expect(dead()).toHaveLength(1)
    await eventually(() => control.ask('deadLetters', 1), () => dead().length === 2, 30_000)
    expect((dead()[1] as { suppressed: number }).suppressed).toBeGreaterThanOrEqual(99)

    node.child.kill('SIGTERM')
    expect(await node.exited).toBe(0)
  }, 60_000)

  it('ends a worker shard with a stray timer once its actors have stopped: exit 0, promptly', async () => {
    const faults = (cluster = new FaultsCluster())
    const node = faults.start('stray', ['--shards', '2'])
    await node.waitForLog((line) => line['msg'] === 'node started')
    const control = await faults.control('stray')
    expect(await control.ask('spawnStray', 1)).toBe('pong')
    const signalled = Date.now()
    node.child.kill('SIGTERM')
    expect(await node.exited).toBe(0)
    // Before, the worker was waited for until the shutdown deadline (10 s) and the node exited 3.
    expect(Date.now() - signalled).toBeLessThan(5000)
    const stopActors = logLines(node).find((line) => line['msg'] === 'shutdown phase done' && line['phase'] === 'stop-actors')
    expect(stopActors?.['ms']).toBeLessThan(1000)
    expect(node.output()).toContain('"outcome":"stopped"')
  }, 60_000)
})
