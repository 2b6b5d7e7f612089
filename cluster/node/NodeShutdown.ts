import type { Clock, Logger } from '../../runtime/index.ts'
import type { NodeConfig } from './Config.ts'
import { CoordinatedShutdown, waitUntilDrained, type ShutdownPhase, type ShutdownReport } from './CoordinatedShutdown.ts'

/** What a node's shutdown acts on (TroupeNode provides it). */
export interface ShutdownTargets {
  readonly clock: Clock
  readonly logger: Logger
  readonly config: NodeConfig
  /** Every NATS link of the node (the node's, every worker shard's) tells peers to route no new work here. */
  announceLeaving(): void
  /** The gateway takes no new external calls; the app's `stop` runs. */
  stopIntake(): Promise<void>
  /** Work queued or running on every shard, and frames received so far (see ShardPending). */
  pendingWork(): Promise<{ readonly pending: number; readonly framesIn: number }>
  /** Cluster state: this member leaves the cluster (Raft leadership handed over), bounded. Absent without cluster state. */
  clusterLeave?(): Promise<void>
  /** Sends `leave` (peers hear at once), keeping the frame subscriptions open. Idempotent. */
  leave(): Promise<void>
  /** Stops every shard's actor tree children-first and ends the worker threads. Idempotent. */
  stopActors(): Promise<void>
  /** Drains NATS and closes the HTTP endpoint. Idempotent. */
  close(): Promise<void>
}

/**
 * The node's coordinated shutdown (docs/protocol.md, "Leaving the cluster"), phase by phase:
 *
 * 1. `leaving`: every NATS link announces that this node is leaving: peers stop routing new work
 *    here and fail new sends with a retriable error (ERR_PEER_LEAVING), while what is in flight still
 *    arrives; readiness already reports "shutting down".
 * 2. `stop-intake`: the gateway stops taking external calls (in-flight ones still get replies); the
 *    app's `stop` runs.
 * 3. `drain`: wait until every shard (worker threads included) has nothing queued, no handler
 *    running (in-flight asks answered) and nothing in its rings. Frames from peers are still read
 *    and handled meanwhile.
 * 3b. `cluster-leave` (cluster state only): the member leaves the cluster state; a leader hands
 *    Raft leadership over first; it gives up (logged) after `shutdownLeaveMs` + 2 × `raftElectionMs`
 *    (a removed server learns it only by losing its leader): peers then down it through their
 *    detectors. The phase's timeout leaves it 1 s more to stop Raft.
 * 4. `leave`: send `leave`, so peers take this node out at once instead of after a heartbeat
 *    timeout; then handle what they had already sent until nothing is queued and no frame has
 *    arrived for `shutdownQuietMs`. (Before the actors stop, as Akka's cluster-leave comes before
 *    actor-system-terminate: a frame a peer sent before it heard `leave` is still handled, not lost.)
 * 5. `stop-actors`: every shard's actor tree stops children first; worker threads end once their
 *    actors have stopped, whatever timers they left.
 * 6. `close`: NATS connections drain; the HTTP endpoint closes.
 *
 * Each phase has its own timeout (NodeConfig `shutdown*Ms`); all of them fit in `shutdownTimeoutMs`,
 * whose last `shutdownForceMs` belong to the forced path: stop the actors, send `leave`, close.
 * `leave` is never skipped.
 */
export function runNodeShutdown(targets: ShutdownTargets): Promise<ShutdownReport> {
  const { clock, config } = targets
  const phases: ShutdownPhase[] = [
    { name: 'leaving', timeoutMs: config.shutdownIntakeMs, run: async () => targets.announceLeaving() },
    { name: 'stop-intake', timeoutMs: config.shutdownIntakeMs, run: () => targets.stopIntake() },
    { name: 'drain', timeoutMs: config.shutdownDrainMs, run: (token) => waitUntilDrained(clock, token, () => targets.pendingWork(), 0) },
    // Cluster state: leave the cluster (handing Raft leadership over) while the node link still runs.
    ...(targets.clusterLeave === undefined ? [] : [{ name: 'cluster-leave', timeoutMs: config.shutdownLeaveMs + 2 * config.raftElectionMs + 1000, run: () => (targets.clusterLeave as () => Promise<void>)() }]),
    {
      name: 'leave',
      timeoutMs: config.shutdownLeaveMs,
      run: async (token) => {
        await targets.leave()
        await waitUntilDrained(clock, token, () => targets.pendingWork(), config.shutdownQuietMs)
      },
    },
    { name: 'stop-actors', timeoutMs: config.shutdownActorsMs, run: () => targets.stopActors() },
    { name: 'close', timeoutMs: config.shutdownCloseMs, run: () => targets.close() },
  ]
  return shutdown(targets).run(phases, forcedPhases(targets))
}

/** After a fatal failure (the top supervisor gave up): what is left stops, the node leaves, closes. */
export function runFailureShutdown(targets: ShutdownTargets): Promise<ShutdownReport> {
  return shutdown(targets).run(forcedPhases(targets), forcedPhases(targets))
}

function shutdown(targets: ShutdownTargets): CoordinatedShutdown {
  return new CoordinatedShutdown({
    clock: targets.clock,
    logger: targets.logger,
    deadlineMs: targets.config.shutdownTimeoutMs,
    forceMs: targets.config.shutdownForceMs,
  })
}

function forcedPhases(targets: ShutdownTargets): ShutdownPhase[] {
  const { config } = targets
  return [
    { name: 'stop-actors', timeoutMs: config.shutdownActorsMs, run: () => targets.stopActors() },
    { name: 'leave', timeoutMs: config.shutdownLeaveMs, run: () => targets.leave() },
    { name: 'close', timeoutMs: config.shutdownCloseMs, run: () => targets.close() },
  ]
}
