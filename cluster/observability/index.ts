/** Observability: Prometheus metrics on a caller registry, OpenTelemetry tracing via @opentelemetry/api. */
export { TroupeMetrics } from './Metrics.ts'
export type { MetricsOptions } from './Metrics.ts'
export { createTracing } from './Tracing.ts'
export type { TracingOptions } from './Tracing.ts'
export { attachLinkLog, attachOperatorLog } from './OperatorLog.ts'
export type { LinkEvents } from './OperatorLog.ts'
export { scrapeShards, shardObserver } from './shardObserver.ts'
