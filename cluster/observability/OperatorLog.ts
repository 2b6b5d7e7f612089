import {
  DeadLetterTopic,
  LifecycleTopic,
  RateLimitedLog,
  type ActorSystem,
  type DeadLetter,
  type LifecycleEvent,
  type Logger,
  type Subscription,
} from '../../runtime/index.ts'
import { SupervisorEventTopic, type SupervisorEvent } from '../../supervision/index.ts'

/**
 * What an operator reads in a node's log, from the events a system publishes (the runtime itself
 * never logs them):
 *
 * - **crash report** — one `error` line per actor failure: `path`, `actorClass`, `method` (of the
 *   message being handled; absent when a lifecycle hook failed), `code` and `err` (type, message,
 *   stack), as Erlang's crash report and Akka's restart log give;
 * - actor restarts (`info`), and stops by failure or kill (`warn`);
 * - supervisor decisions: a restart scheduled or a child resumed (`info`), an escalation, giving up,
 *   a child that failed to start (`warn`);
 * - dead letters, rate-limited per reason (`warn`, with `suppressed`, the lines held back since the
 *   last one of that reason, and `total`, the system's count). Handler failures are left to the
 *   crash report.
 *
 * Returns what detaches it.
 */
export function attachOperatorLog(system: ActorSystem, logger: Logger, options: { readonly deadLetterIntervalMs?: number } = {}): () => void {
  const deadLetters = new RateLimitedLog(system.clock, logger, {
    level: 'warn',
    ...(options.deadLetterIntervalMs === undefined ? {} : { intervalMs: options.deadLetterIntervalMs }),
  })
  const subscriptions: Subscription[] = [
    system.subscribe(LifecycleTopic, (event) => logLifecycle(logger, event)),
    system.subscribe(SupervisorEventTopic, (event) => logSupervisor(logger, event)),
    system.subscribe(DeadLetterTopic, (letter) => logDeadLetter(deadLetters, letter, system.deadLetters.count)),
  ]
  return () => {
    for (const subscription of subscriptions.splice(0)) subscription.unsubscribe()
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function logLifecycle(logger: Logger, event: LifecycleEvent): void {
  const path = event.ref.path
  switch (event.event) {
    case 'failed': {
      const error = event.error
      const code = codeOf(error)
      logger.error(
        {
          path,
          actorClass: event.actorType,
          ...(event.method === undefined ? {} : { method: event.method }),
          ...(code === undefined ? {} : { code }),
          err: error,
        },
        'actor failed',
      )
      return
    }
    case 'restarted':
      logger.info({ path, actorClass: event.actorType }, 'actor restarted')
      return
    case 'stopped': {
      const kind = event.reason?.kind
      if (kind === 'failure' || kind === 'killed') logger.warn({ path, actorClass: event.actorType, reason: kind }, 'actor stopped abnormally')
      return
    }
    case 'started':
      return
  }
}

function logSupervisor(logger: Logger, event: SupervisorEvent): void {
  const base = { supervisor: event.supervisor.path, childId: event.childId }
  switch (event.type) {
    case 'restart-scheduled':
      logger.info({ ...base, delayMs: event.delayMs, attempt: event.attempt }, 'supervisor restarts a child')
      return
    case 'child-resumed':
      logger.info({ ...base, code: codeOf(event.error), error: event.error.message }, 'supervisor resumed a child')
      return
    case 'escalated':
      logger.warn({ ...base, code: codeOf(event.error), error: event.error.message }, 'supervisor escalates a failure')
      return
    case 'gave-up':
      logger.warn({ ...base, restarts: event.restarts, periodMs: event.periodMs }, 'supervisor gave up: restart intensity exceeded')
      return
    case 'start-failed':
      logger.warn({ ...base, code: codeOf(event.error), err: event.error }, 'supervisor could not start a child')
      return
    case 'auto-shutdown':
      logger.info(base, 'supervisor shuts down (auto-shutdown)')
      return
    case 'child-restarted':
    case 'child-started':
    case 'child-stopped':
      logger.debug({ ...base, event: event.type }, 'supervisor event')
      return
  }
}

function logDeadLetter(log: RateLimitedLog, letter: DeadLetter, total: number): void {
  // The crash report already says it.
  if (letter.reason === 'failed') return
  const envelope = letter.envelope
  const code = codeOf(letter.error)
  log.note(
    letter.reason,
    {
      reason: letter.reason,
      target: envelope.target.path,
      method: envelope.method,
      ...(envelope.sender === null ? {} : { sender: envelope.sender.path }),
      ...(code === undefined ? {} : { code }),
      total,
    },
    'dead letter',
  )
}

/** The transport events `attachLinkLog` listens to (NatsTransport has them; `onQuarantined` is optional). */
export interface LinkEvents {
  onLinkChange?(handler: (connected: boolean) => void): void
  onPeerUp?(handler: (node: string) => void): void
  onPeerDown?(handler: (node: string, shard: number | null) => void): void
  onQuarantined?(handler: (byNode: string) => void): void
}

/**
 * Logs a node link's events: NATS link lost/restored (`warn`), and with `peers` (once per node: its
 * main thread) peer nodes up (`info`), down or a shard of them down (`warn`), and this node
 * quarantined by a peer (`error`: it must restart to rejoin).
 */
export function attachLinkLog(link: LinkEvents, logger: Logger, options: { readonly peers: boolean }): void {
  link.onLinkChange?.((up) => logger.warn({ connected: up }, up ? 'NATS link restored' : 'NATS link lost'))
  if (!options.peers) return
  link.onPeerUp?.((node) => logger.info({ peer: node }, 'peer node up'))
  link.onPeerDown?.((node, shard) => {
    if (shard === null) logger.warn({ peer: node }, 'peer node down')
    else logger.warn({ peer: node, shard }, 'shard of a peer node down')
  })
  link.onQuarantined?.((byNode) => logger.error({ by: byNode }, 'this node was declared down by a peer and is quarantined: restart it to rejoin'))
}
