import { execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'

/**
 * Debian's Chromium for the browser tests, found by a ladder like the NATS one: CHROMIUM_PATH →
 * /usr/bin/chromium → `apt-get install -y chromium` when running as root → a clear failure saying
 * what to install. Playwright (playwright-core) drives it; it never downloads a browser of its own.
 */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['CHROMIUM_PATH']
  if (explicit !== undefined && explicit !== '') {
    if (!executable(explicit)) throw new Error(`CHROMIUM_PATH=${explicit} is not an executable file`)
    return explicit
  }
  const system = '/usr/bin/chromium'
  if (executable(system)) return system
  if (process.getuid?.() === 0) {
    try {
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 })
    } catch {
      // The package list may be missing on a fresh machine: fetch it once, then try again.
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 600_000 })
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 })
    }
    if (executable(system)) return system
  }
  throw new Error('no Chromium for the browser tests: install Debian’s package (apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary')
}

/** The flags the browser tests launch Chromium with (a container: no sandbox, no GPU). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu'] as const

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
