import type { Logger } from '../../runtime/index.ts'

type Level = 'info' | 'warn' | 'error' | 'debug'

export interface LoggedLine {
  readonly level: Level
  readonly fields: Record<string, unknown>
  readonly message: string | undefined
}

/**
 * A Logger that keeps the lines of the given levels (default: warn only), for tests that assert what
 * was logged. Children share the list.
 */
export function recordingLogger(levels: readonly Level[] = ['warn']): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = []
  const at =
    (level: Level) =>
    (fields: object, message?: string): void => {
      if (levels.includes(level)) lines.push({ level, fields: fields as Record<string, unknown>, message })
    }
  const logger: Logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), child: () => logger }
  return { logger, lines }
}
