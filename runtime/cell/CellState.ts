import type { ActorRef } from '../ActorRef.ts'
import type { Deque } from '../Deque.ts'
import type { Envelope } from '../Envelope.ts'
import type { Subscription } from '../EventStream.ts'
import type { ExitReason, Terminated } from '../ExitReason.ts'
import type { Logger } from '../Logger.ts'
import type { TimerHandle } from '../Clock.ts'
import type { TimerEntry, Timers } from '../Timers.ts'
import type { ActorCell } from '../ActorCell.ts'
import type { Children } from '../Children.ts'

/**
 * What every part of an ActorCell shares: its states, flag bits, system messages and the side
 * object for rarely used features. The parts (Dispatch, FaultHandling, DeathWatch, ChildSupervision,
 * ReceiveTimeout, Stash) are modules of functions over the one cell object, as Akka's ActorCell is
 * composed of traits: one object per actor, each concern readable on its own.
 */

/** Cell states. Numbers, not strings: the dispatcher compares them on every message. */
export const CellStatus = {
  /** preStart (or postRestart) has not completed; user messages wait. */
  Starting: 0,
  Running: 1,
  /** Failed; waiting for the parent's directive. User messages wait. */
  Suspended: 2,
  /** Restart in progress: waiting for preRestart and for children to stop. */
  Restarting: 3,
  /** Stop in progress: waiting for children to stop, then postStop. */
  Stopping: 4,
  Stopped: 5,
} as const

/** Bits of `ActorCell.flags`: one small integer instead of a field each keeps an idle cell small. */
export const CellFlag = {
  SCHEDULED: 1,
  AWAITING: 2,
  REENTRANT: 4,
  POST_STOP_STARTED: 8,
  PRE_RESTART_DONE: 16,
  HOLD_RESTART: 32,
  /** In its parent's list of children (see Children). */
  LINKED: 64,
  /** The instance ran preRestart (which ran postStop by default): a stop must not run its hooks again. */
  RETIRED: 128,
} as const

/** Internal system messages; they take the mailbox's system lane. */
export type SystemMessage =
  | { readonly type: 'start' }
  | { readonly type: 'stop'; readonly reason: ExitReason }
  | { readonly type: 'restart'; readonly error: Error; readonly hold: boolean; readonly keepChildren?: boolean }
  | { readonly type: 'complete-restart' }
  | { readonly type: 'linked-exit'; readonly from: ActorRef<any>; readonly reason: ExitReason }
  | { readonly type: 'resume' }
  | { readonly type: 'child-failed'; readonly child: ActorCell; readonly error: Error }
  | { readonly type: 'child-terminated'; readonly child: ActorCell; readonly reason: ExitReason }
  | { readonly type: 'terminated'; readonly terminated: Terminated }

export type Watcher = ActorCell | ((terminated: Terminated) => void)

export interface ReceiveTimeoutState {
  readonly timeoutMs: number
  readonly entry: TimerEntry
  lastActivity: number
  armed: TimerHandle | null
}

export interface Waiter {
  resolve: () => void
  reject: (error: Error) => void
}

/** State most actors never use, allocated on first use so an idle actor stays small. */
export class CellExtras {
  children: Children<ActorCell> | null = null
  watchers: Set<Watcher> | null = null
  watching: Set<ActorCell> | null = null
  timers: Timers<any> | null = null
  stash: Deque<Envelope> | null = null
  subscriptions: Map<string, Subscription> | null = null
  registeredNames: string[] | null = null
  receiveTimeout: ReceiveTimeoutState | null = null
  exitReason: ExitReason | null = null
  restartCause: Error | null = null
  /** Death-watch notifications that arrived while the actor was not running; replayed on (re)start. */
  deferredSystem: SystemMessage[] | null = null
  path: string | null = null
  log: Logger | null = null
  /** Bumped on restart and stop so that late async completions of an old instance are ignored. */
  incarnation = 0
  /** Settled when the actor next reaches Running (start or restart), or fails to. */
  startWaiters: Waiter[] | null = null
  /** Settled when a held restart has finished its first phase. */
  preparedWaiters: Waiter[] | null = null
  links: Set<ActorCell> | null = null
  /** Children whose failure this actor escalated; resumed with it. */
  escalated: Set<ActorCell> | null = null
  /** Remote actors this one watches, by formatted address. */
  watchingRemote: Map<string, ActorRef<any>> | null = null
  trapExits = false
  /** A held restart finished its first phase and waits for `complete-restart`. */
  prepared = false
}

export function settleWaiters(waiters: Waiter[] | null, error: Error | null): void {
  if (waiters === null) return
  for (const waiter of waiters) {
    if (error === null) waiter.resolve()
    else waiter.reject(error)
  }
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function'
}
