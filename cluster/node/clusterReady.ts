import type { Logger } from '../../runtime/index.ts'
import type { Cluster } from '../features/index.ts'
import type { AppContext, AppDefinition } from './App.ts'

/**
 * What a node does once its member is up: declare the app's singletons (each retried through
 * elections while the node runs: a declaration that found no quorum is not an app error), then run
 * the app's `onClusterReady`. Failures are logged; the node keeps running.
 */
export async function startClusterApp(features: Cluster, app: AppDefinition, context: () => AppContext, logger: Logger, stopping: () => boolean): Promise<void> {
  for (const [name, singleton] of Object.entries(app.singletons ?? {})) {
    for (;;) {
      if (stopping()) return
      try {
        const handle = await features.singleton(name, singleton.actor, { args: [...(singleton.args ?? [])], ...(singleton.role === undefined ? {} : { role: singleton.role }) })
        logger.info({ singleton: name, role: singleton.role ?? null, manager: handle.manager.path }, 'cluster singleton declared')
        break
      } catch (error) {
        // Anything but a missing quorum (a bad name, a role that differs from the cluster's declaration) is the app's mistake.
        if ((error as { code?: string }).code !== 'ERR_CLUSTER_NO_QUORUM') {
          logger.error({ err: error, singleton: name }, 'the app’s singleton could not be declared')
          break
        }
        logger.warn({ err: error, singleton: name }, 'cluster singleton not declared yet; retrying')
      }
    }
  }
  try {
    await app.onClusterReady?.(features, context())
  } catch (error) {
    logger.error({ err: error }, 'the app’s onClusterReady failed')
  }
}
