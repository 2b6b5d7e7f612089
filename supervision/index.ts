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
export { spawnGroup, spawnPool } from './routing/spawnRouter.ts'
export type { RouterParent } from './routing/spawnRouter.ts'
export { RouterRef } from './routing/RouterCore.ts'
export { PoolRouter } from './routing/PoolRouter.ts'
export type { PoolOptions, RouteeTemplate, RouterControlProtocol } from './routing/PoolRouter.ts'
export { GroupRouter } from './routing/GroupRouter.ts'
export { RouteeSet, staticRoutees } from './routing/RouteeSource.ts'
export type { RouteeSource } from './routing/RouteeSource.ts'
export {
  broadcast,
  powerOfTwoChoices,
  randomRouting,
  roundRobin,
  scatterGatherFirstCompleted,
  smallestMailbox,
  tailChopping,
} from './routing/RoutingLogic.ts'
export type { Broadcast, RoutingLogic, ScatterGather, SelectOne, TailChopping } from './routing/RoutingLogic.ts'
export { consistentHashing, hash32 } from './routing/ConsistentHashing.ts'
export type { ConsistentHashingOptions } from './routing/ConsistentHashing.ts'
export { pressure, resizeDelta, resolveResizer } from './routing/Resizer.ts'
export type { ResizerOptions } from './routing/Resizer.ts'
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
