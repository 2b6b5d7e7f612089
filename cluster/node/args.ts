import { parseArgs } from 'node:util'
import { ConfigError, type ConfigLayer } from './Config.ts'
import { SETTING_KEYS, SETTINGS, type SettingKey } from './settings.ts'
import { didYouMean } from './suggest.ts'

/** Every setting that may be given as a flag, by flag name (`--shutdown-drain-ms` → shutdownDrainMs). */
export const FLAG_SETTINGS: ReadonlyMap<string, SettingKey> = new Map(
  SETTING_KEYS.flatMap((key) => (SETTINGS[key].flag === null ? [] : [[SETTINGS[key].flag as string, key] as const])),
)

const OTHER_FLAGS = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const

const OPTIONS = {
  ...Object.fromEntries([...FLAG_SETTINGS].map(([flag, key]) => [flag, { type: 'string' as const, multiple: SETTINGS[key].kind === 'list' }])),
  ...OTHER_FLAGS,
}

const KNOWN_FLAGS = [...FLAG_SETTINGS.keys(), ...Object.keys(OTHER_FLAGS)]

export interface StartArgs {
  readonly layer: ConfigLayer
  readonly configFile: string | undefined
  readonly help: boolean
}

function usageError(problem: string): ConfigError {
  return new ConfigError(problem, { data: { problems: [problem] } })
}

/** Parses `start` flags into a config layer; an unknown flag fails with the closest known one suggested. */
export function flagLayer(argv: readonly string[]): StartArgs {
  // A lenient pass finds every unknown flag first, so the error can name them all with suggestions.
  const { tokens } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, tokens: true, options: OPTIONS })
  const unknown = tokens.flatMap((token) => (token.kind === 'option' && !(token.name in OPTIONS) ? [token.rawName] : []))
  if (unknown.length > 0) {
    const problems = unknown.map((raw) => `unknown option '${raw}'${didYouMean(raw.replace(/^-+/, ''), KNOWN_FLAGS, (flag) => `--${flag}`)}`)
    throw new ConfigError(problems.join('\n'), { data: { problems } })
  }
  let values: Record<string, string | string[] | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: OPTIONS }).values as Record<string, string | string[] | boolean | undefined>
  } catch (error) {
    // Node's own message (a missing value, a stray positional) is clear; keep it, typed.
    throw usageError((error as Error).message)
  }
  const layer: ConfigLayer = {}
  for (const [flag, key] of FLAG_SETTINGS) {
    const value = values[flag]
    if (value !== undefined) layer[key] = value
  }
  return { layer, configFile: values['config'] as string | undefined, help: values['help'] === true }
}
