import { defineError } from '../runtime/index.ts'

/** Stable codes of the testing layer's errors. */
export const SimErrorCodes = {
  /** Something outside the simulator's control (a real timer, real I/O, ambient time or randomness) touched a run. */
  Escape: 'ERR_SIM_ESCAPE',
  /** A registered invariant failed. */
  Invariant: 'ERR_SIM_INVARIANT',
  /** `runUntil` / `runUntilIdle` hit its virtual-time limit. */
  Timeout: 'ERR_SIM_TIMEOUT',
  /** The simulation went idle (nothing runnable, nothing scheduled) before the awaited condition held. */
  Idle: 'ERR_SIM_IDLE',
  /** A driver call exceeded its step limit (a livelock at one virtual instant, usually). */
  StepLimit: 'ERR_SIM_STEP_LIMIT',
  /** A task threw out of `run()`, or a scheduled callback threw. */
  Crashed: 'ERR_SIM_CRASHED',
  /** The simulation already failed; it cannot be driven further. */
  Failed: 'ERR_SIM_FAILED',
  /** A replayed run reached a decision its record cannot make (the code changed a decision point). */
  ReplayDiverged: 'ERR_SIM_REPLAY_DIVERGED',
  /** The determinism self-check ran one seed twice and got two different runs. */
  Nondeterminism: 'ERR_SIM_NONDETERMINISM',
  /** A SimDisk operation failed: an injected latent error, or a file that does not exist. */
  DiskIo: 'ERR_SIM_DISK_IO',
  /** A SimulatedService call failed by its fault plan (the call was not applied). */
  ServiceUnavailable: 'ERR_SIM_SERVICE_UNAVAILABLE',
  /** A SimulatedService call got no reply in time; it may or may not have been applied. */
  ServiceTimeout: 'ERR_SIM_SERVICE_TIMEOUT',
  /** A TestProbe / TestInbox / BehaviorTestKit expectation was not met. */
  Expectation: 'ERR_EXPECTATION',
} as const

/**
 * Nondeterminism leaked in: a host timer or I/O completed during a run, an actor called Date.now /
 * setTimeout / Math.random while the simulator was running it, or an actor is awaiting a promise the
 * simulator can never settle. `data` names the actor when known.
 */
export const SimEscapeError = defineError(SimErrorCodes.Escape, 'SimEscapeError')
export type SimEscapeError = InstanceType<typeof SimEscapeError>
/** An invariant check failed; the message holds the seed, the step and the last events. */
export const SimInvariantError = defineError(SimErrorCodes.Invariant, 'SimInvariantError')
export type SimInvariantError = InstanceType<typeof SimInvariantError>
export const SimTimeoutError = defineError(SimErrorCodes.Timeout, 'SimTimeoutError')
export type SimTimeoutError = InstanceType<typeof SimTimeoutError>
export const SimIdleError = defineError(SimErrorCodes.Idle, 'SimIdleError')
export type SimIdleError = InstanceType<typeof SimIdleError>
export const SimStepLimitError = defineError(SimErrorCodes.StepLimit, 'SimStepLimitError')
export type SimStepLimitError = InstanceType<typeof SimStepLimitError>
export const SimCrashedError = defineError(SimErrorCodes.Crashed, 'SimCrashedError')
export type SimCrashedError = InstanceType<typeof SimCrashedError>
export const SimFailedError = defineError(SimErrorCodes.Failed, 'SimFailedError')
export type SimFailedError = InstanceType<typeof SimFailedError>
export const SimReplayDivergedError = defineError(SimErrorCodes.ReplayDiverged, 'SimReplayDivergedError')
export type SimReplayDivergedError = InstanceType<typeof SimReplayDivergedError>
/** `data` has the seed, the first divergent step and both events. */
export const SimNondeterminismError = defineError(SimErrorCodes.Nondeterminism, 'SimNondeterminismError')
export type SimNondeterminismError = InstanceType<typeof SimNondeterminismError>
/** `data` has the node, the path and the operation. */
export const SimDiskError = defineError(SimErrorCodes.DiskIo, 'SimDiskError')
export type SimDiskError = InstanceType<typeof SimDiskError>
export const ServiceUnavailableError = defineError(SimErrorCodes.ServiceUnavailable, 'ServiceUnavailableError')
export type ServiceUnavailableError = InstanceType<typeof ServiceUnavailableError>
/** Ambiguous: the call may have been applied (its reply was lost) or not. */
export const ServiceTimeoutError = defineError(SimErrorCodes.ServiceTimeout, 'ServiceTimeoutError')
export type ServiceTimeoutError = InstanceType<typeof ServiceTimeoutError>
/** A test-kit expectation failed (wrong message, nothing within the virtual deadline, an unexpected message). */
export const ExpectationError = defineError(SimErrorCodes.Expectation, 'ExpectationError')
export type ExpectationError = InstanceType<typeof ExpectationError>
