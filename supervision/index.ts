/** Public entry point of the supervision layer (`troupe/supervision`). */
export { Supervisor } from './Supervisor.ts'
export type { SupervisorProtocol, SupervisorSpec } from './Supervisor.ts'
export { DynamicSupervisor } from './DynamicSupervisor.ts'
export type { DynamicChildTemplate, DynamicSupervisorProtocol, DynamicSupervisorSpec } from './DynamicSupervisor.ts'
export { SupervisorBase } from './SupervisorBase.ts'
export type { AutoShutdown, ChildCounts, ChildInfo, Strategy, SupervisorOptions } from './SupervisorBase.ts'
export { childSpec, validateChildSpec } from './ChildSpec.ts'
export type { AnyChildSpec, BackoffOptions, ChildKind, ChildSpec, RestartType, Shutdown } from './ChildSpec.ts'
export { RestartIntensity } from './RestartIntensity.ts'
export { backoffDelay } from './Backoff.ts'
export { SupervisorEventTopic } from './SupervisorEvents.ts'
export type { SupervisorEvent } from './SupervisorEvents.ts'
export {
  ChildExistsError,
  ChildRunningError,
  ChildStartError,
  InvalidChildSpecError,
  SupervisionErrorCodes,
  SupervisorGaveUpError,
  TooManyChildrenError,
  UnknownChildError,
} from './errors.ts'
