import { describe, expect, it } from 'vitest'
import { RateLimitedLog, type Logger } from '../../../runtime/index.ts'
import { VirtualClock } from '../../../testing/index.ts'

function recordingLogger(): { logger: Logger; lines: [Record<string, unknown>, string | undefined][] } {
  const lines: [Record<string, unknown>, string | undefined][] = []
  const logger: Logger = { info() {}, error() {}, debug() {}, warn: (fields, message) => void lines.push([fields as Record<string, unknown>, message]), child: () => logger }
  return { logger, lines }
}

describe('RateLimitedLog', () => {
  it('logs the first occurrence of a kind, then at most once per interval with the count held back', () => {
    const clock = new VirtualClock()
    const { logger, lines } = recordingLogger()
    const log = new RateLimitedLog(clock, logger)
    for (let i = 0; i < 5; i++) log.note('forged', { i }, 'forged')
    clock.advance(9_999)
    log.note('forged', { i: 5 }, 'forged')
    expect(lines).toEqual([[{ i: 0, suppressed: 0 }, 'forged']])
    clock.advance(1)
    log.note('forged', { i: 6 }, 'forged')
    log.note('forged', { i: 7 }, 'forged')
    clock.advance(60_000)
    log.note('forged', { i: 8 }, 'forged')
    expect(lines).toEqual([
      [{ i: 0, suppressed: 0 }, 'forged'],
      [{ i: 6, suppressed: 5 }, 'forged'],
      [{ i: 8, suppressed: 1 }, 'forged'],
    ])
  })

  it('limits each kind on its own, and a flood of new kinds shares one slot', () => {
    const clock = new VirtualClock()
    const { logger, lines } = recordingLogger()
    const log = new RateLimitedLog(clock, logger, { intervalMs: 100 })
    expect(log.note('a', {}, 'a')).toBe(true)
    expect(log.note('b', {}, 'b')).toBe(true)
    expect(log.note('a', {}, 'a')).toBe(false)
    for (let i = 0; i < 10_000; i++) log.note(`kind-${i}`, {}, 'flood')
    // 254 distinct kinds fit beside 'a' and 'b'; every later one is '<other>', logged once.
    expect(lines.length).toBe(2 + 254 + 1)
  })
})
