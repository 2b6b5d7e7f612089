/**
 * Vitest globalSetup of the `integration` project for the Kafka tests: builds (once, cached) the
 * native client and the mock launcher here, where no hook timeout applies, and provides one Kafka
 * peer from the ladder (kafkaServices.ts). Tests isolate themselves by topic and group names.
 */
import type { TestProject } from 'vitest/node'
import { mockLauncherPath, nativeClientDir, provideKafka } from './kafkaServices.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
    kafkaModuleDir: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const moduleDir = nativeClientDir()
  mockLauncherPath()
  const peer = await provideKafka()
  process.stderr.write(`[${project.name}] Kafka from ${peer.source}: ${peer.brokers}; client from ${moduleDir}\n`)
  project.provide('kafkaBrokers', peer.brokers)
  project.provide('kafkaModuleDir', moduleDir)
  return () => peer.stop()
}
