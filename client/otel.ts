/**
 * `@opentelemetry/api`, when installed: an optional peer dependency (one copy of the API must be
 * shared by the app's SDK and every library). Loaded once, lazily; `null` means "not installed",
 * and the client then sends no trace context. (The same loader as cluster/observability/otel.ts:
 * the client layer imports nothing of the node's.)
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
