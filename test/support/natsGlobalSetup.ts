/**
 * Vitest globalSetup of the `integration` project: one NATS server for the run, from the service
 * ladder (test/support/services.ts). Tests read its URL with `inject('natsUrl')`.
 */
import type { TestProject } from 'vitest/node'
import { provideNats } from './services.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nats = await provideNats()
  process.stderr.write(`[integration] NATS from ${nats.source}: ${nats.url}\n`)
  project.provide('natsUrl', nats.url)
  return () => nats.stop()
}
