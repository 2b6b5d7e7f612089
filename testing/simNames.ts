import { Envelope } from '../runtime/index.ts'
import { TraceKind } from './Trace.ts'

/** Events that write their own trace entry (the network's, which know more than the queue does). */
export const SELF_TRACED = 255

export function formatMs(ms: number): string {
  return `${Number.isInteger(ms) ? ms : ms.toFixed(3)} ms`
}

/** A task's name for people: an actor's path when the task is an actor (it usually is). */
export function nameOf(subject: unknown): string {
  if (subject !== null && typeof subject === 'object') {
    const path = (subject as { path?: unknown }).path
    if (typeof path === 'string') return path
    const label = (subject as { label?: unknown }).label
    if (typeof label === 'string') return label
  }
  if (typeof subject === 'string') return subject
  return 'task'
}

/** How the trace renders one event (only when someone reads it). */
export function describeEvent(kind: TraceKind, subject: unknown, value: number): string {
  switch (kind) {
    case TraceKind.Run:
      return `${nameOf(subject)} takes a turn (up to ${value} messages)`
    case TraceKind.Handle:
      if (subject instanceof Envelope) return `${subject.target.path} handles '${subject.method}' (${value} more queued)`
      return `${nameOf(subject)} handles a message (${value} more queued)`
    case TraceKind.Timer:
      return `timer #${value} fires`
    case TraceKind.Scheduled:
      return `${typeof subject === 'string' ? subject : 'scheduled callback'}`
    case TraceKind.Send:
    case TraceKind.Deliver:
    case TraceKind.Duplicate:
      return `${nameOf(subject)} (${value} bytes)`
    case TraceKind.Zombie:
      return `${nameOf(subject)} woke on a crashed process; discarded`
    default:
      return typeof subject === 'function' ? (subject as () => string)() : nameOf(subject)
  }
}
