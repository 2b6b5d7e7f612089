import { defineConfig } from 'vitest/config'
import type { TestUserConfig } from 'vitest/config'

/**
 * `VITEST_JSON=1` adds a machine-readable report at reports/vitest.json (.ci/run reads the counts
 * from it); otherwise only the default terminal reporter runs.
 */
const reporters: NonNullable<TestUserConfig['reporters']> =
  process.env['VITEST_JSON'] === '1' ? ['default', ['json', { outputFile: 'reports/vitest.json' }]] : ['default']

export default defineConfig({
  test: {
    // Reporters are global: projects cannot set their own.
    reporters,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
          // Type tests (`*.test-d.ts`) are not executed: vitest runs tsc over them and reports each
          // `test()` block as a test of this project.
          typecheck: {
            enabled: true,
            include: ['test/unit/**/*.test-d.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      {
        test: {
          // Real NATS (service ladder: NATS_URL, else a local nats-server, else testcontainers, else fail).
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/natsGlobalSetup.ts', 'test/support/dataGlobalSetup.ts', 'test/support/kafka/kafkaGlobalSetup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Real node processes (the troupe CLI), started and killed by the tests.
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/support/natsGlobalSetup.ts', 'test/support/dataGlobalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 30_000,
        },
      },
      {
        // Deterministic simulations (testing/): many seeds per test, so a longer budget than unit.
        test: {
          name: 'sim',
          include: ['test/sim/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
    ],
  },
})
