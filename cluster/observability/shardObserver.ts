/**
 * The observer every worker shard of a node loads (`ShardedSystemOptions.observer`): the same
 * metrics, tracing and operator logs as the node's main thread, in the worker's own thread. Its
 * metrics live on a registry of the worker's, labelled `shard`, and reach the node's `/metrics`
 * through the main thread (`scrapeShards`).
 */
import { AggregatorRegistry, collectDefaultMetrics, Registry } from 'prom-client'
import { combineInstrumentation, type Logger } from '../../runtime/index.ts'
import type { ShardObserver, ShardObserverModule, ShardObserverSpec } from '../../transport/index.ts'
import { TroupeMetrics } from './Metrics.ts'
import { attachLinkLog, attachOperatorLog, type LinkEvents } from './OperatorLog.ts'
import { createTracing } from './Tracing.ts'
import { ActorActivity } from '../introspection/ActorActivity.ts'
import { SystemIntrospector } from '../introspection/SystemIntrospector.ts'
import type { IntrospectRequest } from '../introspection/types.ts'

/** Default metrics that describe the whole process, not one thread. */
const PROCESS_WIDE = /^(process_|nodejs_version_info$|nodejs_active_|nodejs_external_memory_bytes$)/

/** The spec a node hands to ShardedSystem.create. */
export function shardObserver(options: { readonly sampleRatio?: number } = {}): ShardObserverSpec {
  return { module: import.meta.url, options: options.sampleRatio === undefined ? {} : { sampleRatio: options.sampleRatio } }
}

const observerModule: ShardObserverModule = {
  create(shard: number, options: Readonly<Record<string, unknown>>): ShardObserver {
    const registry = new Registry()
    registry.setDefaultLabels({ shard: String(shard) })
    const metrics = new TroupeMetrics({ registry })
    // This thread's own runtime figures: event-loop lag, heap, GC. The process-wide ones (CPU, RSS,
    // handles) are the main thread's to report, once.
    const runtime = new Registry()
    runtime.setDefaultLabels({ shard: String(shard) })
    collectDefaultMetrics({ register: runtime })
    let logger: Logger | null = null
    // The dashboard's and `troupe tree`'s view of this shard, answered on demand (cluster/introspection).
    const activity = new ActorActivity(metrics.mailboxHooks)
    let introspector: SystemIntrospector | null = null
    return {
      instrumentation: combineInstrumentation([createTracing(typeof options['sampleRatio'] === 'number' ? { sampleRatio: options['sampleRatio'] } : {}), metrics.instrumentation]),
      mailboxHooks: activity.hooks,
      attach(system, shardLogger, remoting) {
        activity.attach(system)
        introspector = new SystemIntrospector(system, activity)
        logger = shardLogger
        metrics.observe(system)
        metrics.observeRemoting(remoting)
        attachOperatorLog(system, shardLogger)
      },
      linked(link) {
        // Node up/down is the main thread's to log (every shard hears it); this shard's own NATS link is its own.
        if (logger !== null) attachLinkLog(link as LinkEvents, logger, { peers: false })
      },
      introspect: (request) => (introspector === null ? null : introspector.answer(request as IntrospectRequest)),
      metrics: async () => [...(await registry.getMetricsAsJSON()), ...(await runtime.getMetricsAsJSON()).filter((metric) => !PROCESS_WIDE.test(metric.name))],
    }
  },
}

export default observerModule

/**
 * The node's `/metrics` text: its own registry plus every worker shard's (each labelled `shard`),
 * merged into one exposition so each metric family appears once.
 */
export async function scrapeShards(registry: Registry, workers: () => Promise<{ readonly data: unknown }[]>): Promise<string> {
  const [own, shards] = await Promise.all([registry.getMetricsAsJSON(), workers()])
  if (shards.length === 0) return registry.metrics()
  const merged = AggregatorRegistry.aggregate([own, ...shards.map((shard) => shard.data as object)])
  return merged.metrics()
}
