import { describe, expect, it } from 'vitest'
import { CoordinatedShutdown, type ShutdownPhase, type ShutdownReport } from '../../../cluster/index.ts'
import type { Logger } from '../../../runtime/index.ts'
import { VirtualClock } from '../../../testing/index.ts'

/** A logger that keeps every line. */
function recordingLogger(): Logger & { lines: { level: string; msg: string | undefined; fields: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string | undefined; fields: Record<string, unknown> }[] = []
  const at =
    (level: string) =>
    (fields: object, msg?: string): void => {
      lines.push({ level, msg, fields: fields as Record<string, unknown> })
    }
  const logger = { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger }
  return logger
}

/** Runs the shutdown under virtual time: fires timers whenever nothing else can move. */
async function runVirtual(clock: VirtualClock, run: Promise<ShutdownReport>): Promise<ShutdownReport> {
  let done: ShutdownReport | null = null
  void run.then((report) => (done = report))
  for (let i = 0; i < 10_000 && done === null; i++) {
    for (let j = 0; j < 20; j++) await Promise.resolve()
    if (done === null && !clock.fireNext()) await new Promise((resolve) => setImmediate(resolve))
  }
  if (done === null) throw new Error('shutdown did not finish')
  return done
}

function phase(name: string, timeoutMs: number, ran: string[], work: (clock: VirtualClock) => Promise<void>, clock: VirtualClock): ShutdownPhase {
  return {
    name,
    timeoutMs,
    run: async () => {
      ran.push(name)
      await work(clock)
    },
  }
}

const takes = (ms: number) => (clock: VirtualClock) => new Promise<void>((resolve) => clock.setTimer(ms, resolve))
const never = () => new Promise<void>(() => {})

describe('CoordinatedShutdown', () => {
  it('runs the phases in order, each logged with its outcome, and reports a clean run', async () => {
    const clock = new VirtualClock()
    const logger = recordingLogger()
    const ran: string[] = []
    const shutdown = new CoordinatedShutdown({ clock, logger, deadlineMs: 10_000, forceMs: 2000 })
    const phases = ['a', 'b', 'c'].map((name) => phase(name, 1000, ran, takes(100), clock))
    const report = await runVirtual(clock, shutdown.run(phases, []))
    expect(report).toEqual({ clean: true, incomplete: [], forced: false })
    expect(ran).toEqual(['a', 'b', 'c'])
    expect(logger.lines.filter((l) => l.msg === 'shutdown phase done').map((l) => [l.fields['phase'], l.fields['ms']])).toEqual([
      ['a', 100],
      ['b', 100],
      ['c', 100],
    ])
  })

  it('moves on past a phase that times out or throws, and says the run was not clean', async () => {
    const clock = new VirtualClock()
    const logger = recordingLogger()
    const ran: string[] = []
    const shutdown = new CoordinatedShutdown({ clock, logger, deadlineMs: 10_000, forceMs: 2000 })
    const report = await runVirtual(
      clock,
      shutdown.run(
        [
          phase('stuck', 500, ran, never, clock),
          phase('throws', 500, ran, () => Promise.reject(new Error('no')), clock),
          phase('fine', 500, ran, takes(10), clock),
        ],
        [],
      ),
    )
    expect(ran).toEqual(['stuck', 'throws', 'fine'])
    expect(report).toEqual({ clean: false, incomplete: ['stuck', 'throws'], forced: false })
    expect(clock.now()).toBe(510)
    expect(logger.lines.find((l) => l.msg === 'shutdown phase timed out')?.fields).toMatchObject({ phase: 'stuck', timeoutMs: 500 })
  })

  it('at the deadline skips what is left and runs the forced phases (leave included) within the time kept for them', async () => {
    const clock = new VirtualClock()
    const logger = recordingLogger()
    const ran: string[] = []
    const shutdown = new CoordinatedShutdown({ clock, logger, deadlineMs: 10_000, forceMs: 2000 })
    const report = await runVirtual(
      clock,
      shutdown.run(
        [phase('drain', 60_000, ran, never, clock), phase('stop-actors', 1000, ran, takes(1), clock)],
        [phase('forced-stop', 1000, ran, never, clock), phase('forced-leave', 1000, ran, takes(5), clock), phase('forced-close', 1000, ran, takes(5), clock)],
      ),
    )
    // The drain was cut at 8 s (10 s minus the 2 s kept), stop-actors skipped, the forced ones ran.
    expect(ran).toEqual(['drain', 'forced-stop', 'forced-leave', 'forced-close'])
    expect(report).toEqual({ clean: false, incomplete: ['drain', 'stop-actors'], forced: true })
    expect(clock.now()).toBeLessThanOrEqual(10_000)
  })
})
