/** Public entry point of the testing layer (`troupe/testing`): test doubles that ship as product. */
export { VirtualClock } from './VirtualClock.ts'
export { settle, waitFor, waitForValue } from './waitFor.ts'
export { LoopbackNetwork } from './LoopbackNetwork.ts'

// Deterministic simulation
export { Simulation } from './Simulation.ts'
export type { InvariantCheck, MessageCount, SimSystemOptions, SimulationOptions, SimulationStats } from './Simulation.ts'
export type { ClockModel, SchedulerStrategy } from './SimulationOptions.ts'
export { checkDeterminism } from './DeterminismCheck.ts'
export type { DeterminismCheckOptions, DeterminismReport } from './DeterminismCheck.ts'
export { DECISION_FORMAT, decodeDecisions, encodeDecisions } from './DecisionRecord.ts'
export type { DecisionRecord } from './DecisionRecord.ts'
export { SimDisk } from './SimDisk.ts'
export type { SimDiskOptions, SimDiskStats } from './SimDisk.ts'
export { SimulatedService } from './SimulatedService.ts'
export type { AsyncPort, ServiceCall, ServiceFault, ServiceFaultPlan, SimulatedServiceOptions } from './SimulatedService.ts'
export { swarm } from './Swarm.ts'
export type { SwarmOptions, SwarmPlan } from './Swarm.ts'
export { NetworkProfiles } from './NetworkProfiles.ts'
export type { NetworkProfileName } from './NetworkProfiles.ts'
export { SimProcess } from './SimProcess.ts'
export type { SimProcessState } from './SimProcess.ts'
export { SimScheduler } from './SimScheduler.ts'
export { SimClock } from './SimClock.ts'
export { SimIds } from './SimIds.ts'
export { TraceKind, formatTrace } from './Trace.ts'
export type { TraceEvent, TraceKindName } from './Trace.ts'
export { SEED_ENV, deriveSeed, seedFromEnv } from './seeds.ts'
export { SimulatedNetwork } from './SimulatedNetwork.ts'
export type { Cut, Group, Hold, InjectOptions, LatencyModel, LinkStats, NetworkConditions, NetworkStats, SimulatedNetworkOptions } from './SimulatedNetwork.ts'
export { FailureDetector } from './FailureDetector.ts'
export type { FailureDetectorOptions } from './FailureDetector.ts'
export { SimulatedCluster, ClusterNode } from './SimulatedCluster.ts'
export type { BootFunction, ClusterNodeState, SimulatedClusterOptions } from './SimulatedCluster.ts'
export { DurableStore } from './DurableStore.ts'
export { applyFaults, describeFault, describeFaults } from './FaultSchedule.ts'
export type { Fault, FaultSchedule } from './FaultSchedule.ts'
export { faultArbitrary, faultScheduleArbitrary, seedArbitrary, simulationCase } from './arbitraries.ts'
export type { FaultScheduleOptions } from './arbitraries.ts'
export { findFailingSeed, forEachSeed, SeedFailedError } from './seedSearch.ts'
export type { FoundFailure, Scenario, SeedRunOptions } from './seedSearch.ts'

// Test kits
export { ActorTestKit } from './ActorTestKit.ts'
export type { ActorTestKitOptions } from './ActorTestKit.ts'
export { TestProbe } from './TestProbe.ts'
export type { ProbeMessage } from './TestProbe.ts'
export { BehaviorTestKit } from './BehaviorTestKit.ts'
export type { Effect, EffectType } from './BehaviorTestKit.ts'
export { TestInbox } from './TestInbox.ts'
export type { InboxMessage } from './TestInbox.ts'

export {
  ExpectationError,
  ServiceTimeoutError,
  ServiceUnavailableError,
  SimCrashedError,
  SimDiskError,
  SimErrorCodes,
  SimEscapeError,
  SimFailedError,
  SimIdleError,
  SimInvariantError,
  SimNondeterminismError,
  SimReplayDivergedError,
  SimStepLimitError,
  SimTimeoutError,
} from './errors.ts'

// Raft in the simulator (testing/raft may import the pure cluster/raft layer: see ARCHITECTURE.md)
export { RaftTestCluster } from './raft/RaftTestCluster.ts'
export type { ClusterEvent, RaftClusterOptions } from './raft/RaftTestCluster.ts'
export { RaftInvariants } from './raft/RaftInvariants.ts'
export type { InvariantWorld } from './raft/RaftInvariants.ts'
export { SimRaftStorage } from './raft/SimRaftStorage.ts'
export type { DurableView, SimRaftStorageOptions } from './raft/SimRaftStorage.ts'
export { RaftSimTransport } from './raft/RaftSimTransport.ts'
export type { KindCounters, MessageFilter, NodeCounters } from './raft/RaftSimTransport.ts'

// Cluster state (issue 14): a linearizability checker for histories of registry operations
export { checkLinearizable, registryModel } from './membership/Linearizability.ts'
export type { LinearizabilityResult, Model, Operation, RegistryInput, RegistryOutput } from './membership/Linearizability.ts'
export { ClusterStateTestCluster } from './membership/ClusterStateTestCluster.ts'
export type { ClusterStateTestOptions } from './membership/ClusterStateTestCluster.ts'
export { ClusterFeaturesTestCluster } from './membership/ClusterFeaturesTestCluster.ts'
export type { ClusterFeaturesTestOptions, FeaturesBoot, FeaturesMember } from './membership/ClusterFeaturesTestCluster.ts'
export { InMemoryClusterState } from './membership/InMemoryClusterState.ts'
