/**
 * Entry module of a shard worker thread (started by ShardedSystem; nothing to call by hand). It loads
 * the app module, runs the shard's actor system joined to the others through the rings, and follows
 * the main thread's control messages. The parentPort listener is also what keeps the thread alive
 * while its pump parks with `Atomics.waitAsync`, which alone would not.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads'
import { encodeError, toError } from '../../runtime/index.ts'
import { loadShardApp } from './ShardApp.ts'
import { ShardHost } from './ShardHost.ts'
import { PortLogger } from './ShardLog.ts'
import { loadShardObserver } from './ShardObserver.ts'
import { SHARD_WORKER_TAG, type MainToShard, type ShardToMain, type ShardWorkerData } from './ShardProtocol.ts'

async function runShardWorker(port: MessagePort, data: ShardWorkerData): Promise<void> {
  const post = (message: ShardToMain): void => port.postMessage(message)
  const fail = (thrown: unknown): void => {
    const error = toError(thrown)
    post(error.stack === undefined ? { type: 'failed', error: encodeError(error) } : { type: 'failed', error: encodeError(error), stack: error.stack })
  }
  // Buffer control messages that arrive while the app module loads; the listener is added now so
  // none is missed and the thread stays alive.
  const early: MainToShard[] = []
  let handle: ((message: MainToShard) => void) | null = null
  port.on('message', (message: MainToShard) => {
    if (handle === null) early.push(message)
    else handle(message)
  })

  let host: ShardHost
  let started: ShardHost | null = null
  try {
    const registry = await loadShardApp(data.app)
    const settings = data.settings
    const logger = settings.logLevel === undefined ? undefined : new PortLogger((record) => post({ type: 'log', record }), settings.logLevel)
    const observer = settings.observer === undefined ? undefined : await loadShardObserver(settings.observer, data.shard)
    host = started = new ShardHost({
      settings,
      shard: data.shard,
      links: data.links,
      table: data.table,
      registry,
      down: data.down,
      ...(logger === undefined ? {} : { logger }),
      ...(observer === undefined ? {} : { observer }),
    })
    await host.attachUplink()
  } catch (error) {
    fail(error)
    // A host that started (its system, timers, rings) would keep the thread alive: end it too.
    try {
      if (started !== null) {
        await started.system.terminate()
        await started.close()
      }
    } catch {
      // Ending anyway: the failure was reported above.
    } finally {
      port.close()
    }
    return
  }
  const app = host.context.registry.app
  let stopping = false

  handle = (message: MainToShard): void => {
    switch (message.type) {
      case 'start':
        host.setAgents(message.agents)
        Promise.resolve()
          .then(() => app.startShard?.(host.context))
          .then(() => post({ type: 'started' }), fail)
        return
      case 'peer-down':
        host.context.setAgent(message.shard, null)
        host.transport.peerDown(message.shard)
        return
      case 'peer-up':
        host.transport.peerUp(message.links)
        host.context.setAgent(message.shard, message.agent)
        return
      case 'stats':
        post({ type: 'stats', id: message.id, stats: host.stats() })
        return
      case 'leaving':
        host.announceLeaving()
        return
      case 'pending':
        post({ type: 'pending', id: message.id, work: host.pendingWork() })
        return
      case 'metrics':
        host.metrics().then(
          (metrics) => post({ type: 'metrics', id: message.id, data: metrics }),
          () => post({ type: 'metrics', id: message.id, data: null }),
        )
        return
      case 'introspect': {
        let data: unknown = null
        try {
          data = host.introspect(message.request)
        } catch {
          data = null
        }
        post({ type: 'introspect', id: message.id, data })
        return
      }
      case 'stop':
        if (stopping) return
        stopping = true
        void stop()
        return
    }
  }

  async function stop(): Promise<void> {
    try {
      await app.stopShard?.(host.context)
    } catch {
      // The app's own shutdown failing must not keep the actors running.
    }
    await host.system.terminate()
    await host.close()
    // The main thread ends this thread on `stopped`: a timer or socket the app left behind must not
    // keep it (and the node's shutdown) waiting. What the actors wrote to stdout/stderr goes first.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)])
    post({ type: 'stopped' })
    port.close()
  }

  post({ type: 'ready', agent: host.agent.address })
  for (const message of early.splice(0)) handle(message)
}

/** Resolves once what was written to `stream` before has been handed on (a worker's stdio goes to the main thread). */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write('', () => resolve())
    } catch {
      resolve()
    }
  })
}

if (!isMainThread && parentPort !== null && (workerData as { tag?: unknown } | null)?.tag === SHARD_WORKER_TAG) {
  void runShardWorker(parentPort, workerData as ShardWorkerData)
}
