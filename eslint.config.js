// @ts-check
import js from '@eslint/js'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

/** The library layers: code that must be deterministic under simulation. */
const LAYERS = ['runtime', 'supervision', 'transport', 'cluster', 'actors']
const layerFiles = LAYERS.map((layer) => `${layer}/**/*.ts`)

/** The only files allowed to touch the host's clock, timers and randomness. */
const REAL_IMPLEMENTATIONS = ['runtime/SystemClock.ts', 'runtime/SystemRandom.ts', 'runtime/RealScheduler.ts']

const TIME = 'use the injected Clock (see runtime/Clock.ts); only runtime/SystemClock.ts touches the host clock'
const TIMER = 'use the injected Clock.setTimer/clearTimer (see runtime/Clock.ts); only runtime/SystemClock.ts arms host timers'
const TASK = 'use the injected Scheduler (see runtime/Scheduler.ts); only runtime/RealScheduler.ts queues host tasks'
const RANDOM = 'use the injected Random/IdSource (see runtime/Random.ts, runtime/IdSource.ts); only runtime/SystemRandom.ts reads host randomness'

/** Host globals that bypass the injected Clock/Scheduler. */
const restrictedGlobals = [
  ['setTimeout', TIMER],
  ['setInterval', TIMER],
  ['clearTimeout', TIMER],
  ['clearInterval', TIMER],
  ['setImmediate', TASK],
  ['clearImmediate', TASK],
  ['queueMicrotask', TASK],
]

/** `object.property` reads that bypass the injected Clock/Random. */
const restrictedProperties = [
  ['Date', 'now', TIME],
  ['performance', 'now', TIME],
  ['performance', 'timeOrigin', TIME],
  ['process', 'hrtime', TIME],
  ['process', 'uptime', TIME],
  ['Math', 'random', RANDOM],
  ['crypto', 'randomUUID', RANDOM],
  ['crypto', 'getRandomValues', RANDOM],
  // The same globals reached through globalThis.
  ...restrictedGlobals.map(([name, message]) => ['globalThis', name, message]),
  ['globalThis', 'performance', TIME],
  ['globalThis', 'crypto', RANDOM],
]

/** Layers import one way and never reach into examples or tests. */
const layerImportPatterns = [
  {
    group: ['**/examples', '**/examples/**', '**/test', '**/test/**'],
    message: 'library layers must not import from examples/ or test/',
  },
]

/** Modules that expose the host clock, timers or randomness under another name. */
const hostTimePaths = [
  ...['timers', 'node:timers', 'timers/promises', 'node:timers/promises'].map((name) => ({ name, message: TIMER })),
  ...['perf_hooks', 'node:perf_hooks'].map((name) => ({ name, message: TIME })),
  ...['crypto', 'node:crypto'].map((name) => ({
    name,
    importNames: ['randomUUID', 'randomBytes', 'randomInt', 'randomFillSync', 'randomFill', 'getRandomValues', 'webcrypto'],
    message: RANDOM,
  })),
]

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'bench/nact/', 'bench/lmdb/', 'coverage/', 'reports/']),

  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // The runtime needs `any` in a few generic signatures.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },

  {
    files: ['**/*.js'],
    extends: [js.configs.recommended],
  },

  // Layer boundaries (everything in a layer, the real implementations included).
  {
    files: layerFiles,
    rules: {
      'no-restricted-imports': ['error', { patterns: layerImportPatterns }],
    },
  },

  // No ambient time, timers or randomness in the library layers.
  {
    files: layerFiles,
    ignores: REAL_IMPLEMENTATIONS,
    rules: {
      'no-restricted-globals': ['error', ...restrictedGlobals.map(([name, message]) => ({ name, message }))],
      'no-restricted-properties': [
        'error',
        ...restrictedProperties.map(([object, property, message]) => ({ object, property, message })),
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: TIME },
        { selector: "CallExpression[callee.name='Date']", message: TIME },
      ],
      // Overrides the block above for these files, so it repeats the layer patterns.
      'no-restricted-imports': ['error', { paths: hostTimePaths, patterns: layerImportPatterns }],
    },
  },
])
