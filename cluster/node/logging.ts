import { pino } from 'pino'
import { prettyFactory } from 'pino-pretty'
import type { Logger } from '../../runtime/index.ts'
import type { NodeConfig } from './Config.ts'

export interface LogOutput {
  /** Writes one rendered line (or pretty block). */
  readonly write: (text: string) => void
  /** A terminal reads it: pretty, coloured lines. Otherwise JSON lines, one object each (for collectors). */
  readonly tty: boolean
}

/**
 * The CLI's logger: pino, JSON lines for machines, pino-pretty when a person watches a terminal
 * (errors then print their message and stack as text, not a JSON string). Formatting runs in this
 * thread, synchronously: a node's start-up errors must be on screen before it exits.
 */
export function createNodeLogger(config: Pick<NodeConfig, 'logLevel' | 'name' | 'cluster'>, output: LogOutput): Logger {
  const options = { level: config.logLevel, base: { node: config.name, cluster: config.cluster } }
  if (!output.tty) return pino(options, { write: output.write }) as unknown as Logger
  const pretty = prettyFactory({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,cluster', singleLine: false })
  return pino(options, { write: (line: string) => output.write(pretty(JSON.parse(line) as object)) }) as unknown as Logger
}
