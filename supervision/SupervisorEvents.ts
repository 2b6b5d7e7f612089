import { topic, type ActorRef, type ExitReason } from '../runtime/index.ts'

/** Every supervision decision, as published on `SupervisorEventTopic`. */
export type SupervisorEvent =
  | { readonly type: 'child-started'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly child: ActorRef<any> }
  | { readonly type: 'child-restarted'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly child: ActorRef<any>; readonly reason: Error | ExitReason }
  | { readonly type: 'child-stopped'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly reason: ExitReason }
  | { readonly type: 'child-resumed'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly error: Error }
  | { readonly type: 'restart-scheduled'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly delayMs: number; readonly attempt: number }
  | { readonly type: 'escalated'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly error: Error }
  | { readonly type: 'gave-up'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly restarts: number; readonly periodMs: number }
  | { readonly type: 'start-failed'; readonly supervisor: ActorRef<any>; readonly childId: string; readonly error: Error }
  /** A start function returned `'ignore'` (OTP's `ignore`): no actor runs for this child. */
  | { readonly type: 'start-ignored'; readonly supervisor: ActorRef<any>; readonly childId: string }
  | { readonly type: 'auto-shutdown'; readonly supervisor: ActorRef<any>; readonly childId: string }

export const SupervisorEventTopic = topic<SupervisorEvent>('troupe.supervision')
