/**
 * `@opentelemetry/api`, when installed. It is an optional peer dependency: one copy of the API must
 * be shared by the app's SDK and every library, which a dependency of our own could break. So it
 * is loaded here once, lazily, and `null` means "not installed": tracing is then a no-op, and
 * nothing else (the CLI, `troupe --help`, a node) needs it.
 */
type OtelApi = typeof import('@opentelemetry/api')

async function load(): Promise<OtelApi | null> {
  // A variable specifier keeps bundlers and tsc from treating the peer as a hard import.
  const name = '@opentelemetry/api'
  try {
    return (await import(name)) as OtelApi
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return null
    throw error
  }
}

export const otel: OtelApi | null = await load()
