/** Public entry point of the supervision layer (`troupe/supervision`). */
export { Supervisor } from './Supervisor.ts'
export type { SupervisorProtocol, SupervisorSpec } from './Supervisor.ts'
export { DynamicSupervisor } from './DynamicSupervisor.ts'
export type { DynamicChildTemplate, DynamicStartResult, DynamicSupervisorProtocol, DynamicSupervisorSpec } from './DynamicSupervisor.ts'
export { SupervisorBase } from './SupervisorBase.ts'
export type { StartChildResult } from './ChildRunner.ts'
export type { ChildCounts, ChildInfo } from './ChildTable.ts'
export { dynamicSpecProblems, supervisorSpecProblems } from './SupervisorConfig.ts'
export type { AutoShutdown, Strategy, SupervisorOptions } from './SupervisorConfig.ts'
export { childSpec, childSpecProblems, validateChildSpec } from './ChildSpec.ts'
export type { AnyChildSpec, BackoffOptions, ChildKind, ChildSpawner, ChildSpec, ChildSpecBase, FunctionChildSpec, RestartType, Shutdown, StartFunction, StartResult } from './ChildSpec.ts'
export { RestartIntensity } from './RestartIntensity.ts'
export type { Intensity } from './RestartIntensity.ts'
export { backoffDelay, backoffResetAfter } from './Backoff.ts'
export { BackoffSupervisor, spawnBackoffSupervisor } from './BackoffSupervisor.ts'
export type { BackoffControlProtocol, BackoffSupervisorOptions } from './BackoffSupervisor.ts'
export { SupervisorEventTopic } from './SupervisorEvents.ts'
export type { SupervisorEvent } from './SupervisorEvents.ts'
export {
  BackoffStashFullError,
  ChildAlreadyPresentError,
  ChildAlreadyStartedError,
  ChildRestartingError,
  ChildRunningError,
  ChildStartError,
  InvalidChildSpecError,
  InvalidSupervisorSpecError,
  NoRouteesError,
  SupervisionErrorCodes,
  SupervisorGaveUpError,
  TooManyChildrenError,
  UnknownChildError,
} from './errors.ts'
