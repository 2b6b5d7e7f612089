import type { ActorSystem, Clock } from '../../runtime/index.ts'
import type { ClusterState } from '../membership/index.ts'

/** What every feature of one member shares: its actor system, its view of the cluster state, its settings. */
export interface FeatureContext {
  readonly system: ActorSystem
  readonly state: ClusterState
  readonly clock: Clock
  /** How long a user-facing write (register, declare a singleton) keeps retrying through elections. */
  readonly writeTimeoutMs: number
  readonly isStopped: () => boolean
  /** Counts a registry ref that did not parse (refused, never thrown at the reader). */
  readonly malformed: (ref: string) => void
}
