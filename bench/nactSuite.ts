/**
 * The nact comparison. nact lives in bench/nact with its own package.json so the main install stays
 * lean: this suite installs it on first use, then runs bench/nact/nact.ts in a child process (its own
 * heap, and the main typecheck never sees nact's types).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { note, type Suite } from './harness.ts'

const nactDir = join(dirname(fileURLToPath(import.meta.url)), 'nact')

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { stdio: 'inherit' })
  if (result.error !== undefined) throw result.error
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`)
}

export const suite: Suite = {
  description: 'tell, ask and spawn on nact (installed on demand into bench/nact; not part of CI)',
  cases: ['tell', 'ask', 'spawn'],
  async run({ only }) {
    if (!existsSync(join(nactDir, 'node_modules', 'nact', 'package.json'))) {
      note('nact: installing into bench/nact (npm install --prefix bench/nact)')
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
      run(npm, ['install', '--prefix', nactDir, '--no-audit', '--no-fund'])
    }
    run(process.execPath, ['--expose-gc', '--import', 'tsx', join(nactDir, 'nact.ts'), ...(only === null ? [] : only)])
  },
}
