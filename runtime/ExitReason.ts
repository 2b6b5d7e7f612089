import type { ActorRef } from './ActorRef.ts'

/**
 * Why an actor stopped. Erlang's exit reasons, made explicit: `normal` and `shutdown` are normal
 * exits (a transient child is not restarted after them); everything else is abnormal.
 */
export type ExitReason =
  /** It stopped itself, or a poison pill reached it. */
  | { readonly kind: 'normal' }
  /** Its parent or the system stopped it. */
  | { readonly kind: 'shutdown' }
  /** Killed without finishing its current message or running `postStop`. */
  | { readonly kind: 'killed' }
  /** It failed and its supervisor chose to stop it (or gave up). */
  | { readonly kind: 'failure'; readonly error: Error }
  /** Nothing lives at that address (never did, or already gone before it was watched). */
  | { readonly kind: 'not-found' }
  /** Its node stopped answering (failure detector) or left the cluster. */
  | { readonly kind: 'node-down'; readonly node: string }
  /** The worker thread (shard) it lived in crashed. */
  | { readonly kind: 'shard-down'; readonly node: string; readonly shard: number }

export const ExitReasons = {
  normal: { kind: 'normal' } as ExitReason,
  shutdown: { kind: 'shutdown' } as ExitReason,
  killed: { kind: 'killed' } as ExitReason,
  notFound: { kind: 'not-found' } as ExitReason,
  failure(error: Error): ExitReason {
    return { kind: 'failure', error }
  },
  nodeDown(node: string): ExitReason {
    return { kind: 'node-down', node }
  },
  shardDown(node: string, shard: number): ExitReason {
    return { kind: 'shard-down', node, shard }
  },
} as const

export function isNormalExit(reason: ExitReason): boolean {
  return reason.kind === 'normal' || reason.kind === 'shutdown'
}

/** Death-watch notification: the watched actor has stopped, and why. */
export interface Terminated {
  readonly ref: ActorRef<any>
  readonly reason: ExitReason
  /** True when this is a trapped exit of a linked actor rather than a death-watch notification. */
  readonly linked?: boolean
}
