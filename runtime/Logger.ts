/**
 * The logging surface Troupe uses: pino's, so a pino logger fits as it is. The runtime never
 * creates a logger; it uses the one it is given (the node CLI creates pino).
 */
export interface Logger {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): Logger
}

/** A logger that drops everything (library default: Troupe never logs unless given a logger). */
export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return silentLogger
  },
}
