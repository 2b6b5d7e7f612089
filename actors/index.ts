/**
 * Public entry point of the component layer (`troupe/actors`): built-in actors (circuit breaker,
 * rate limiters, service clients, sandbox, …), each an actor under a supervisor. Imports only the
 * layers to its left (runtime, supervision, transport, cluster).
 */
export { ActorsErrorCodes } from './errors.ts'
export { WasmErrorCodes } from './errors.ts'
export {
  WasmBadCallError, WasmBadOptionsError, WasmImportDeniedError, WasmInstrumentError, WasmInvalidError, WasmMemoryLimitError, WasmTooLargeError,
  WasmUnknownModuleError, WasmUnsupportedError, WasmWorkerLostError,
} from './wasm/errors.ts'
export { WasmSandbox } from './wasm/WasmSandbox.ts'
export type { WasmSandboxProtocol } from './wasm/WasmSandbox.ts'
export { WasmSandboxPool } from './wasm/WasmSandboxPool.ts'
export type { WasmSandboxPoolOptions } from './wasm/WasmSandboxPool.ts'
export { DEFAULT_GUEST_LIMITS } from './wasm/WasmSandboxOptions.ts'
export type { WasmCallRequest, WasmSandboxOptions } from './wasm/WasmSandboxOptions.ts'
export { ModuleStore } from './wasm/ModuleStore.ts'
export type { LoadOptions, ModuleInfo, ModuleStoreOptions } from './wasm/ModuleStore.ts'
export { WasmAccounting } from './wasm/WasmAccounting.ts'
export type { TenantUsage } from './wasm/WasmAccounting.ts'
export { TenantKv } from './wasm/TenantKv.ts'
export { CAPABILITY_IMPORTS, HOST_MODULE } from './wasm/WasmTypes.ts'
export type { Capability, GuestLimits, TrapKind, WasmCallResult, WasmValue } from './wasm/WasmTypes.ts'
export { instrumentModule } from './wasm/binary/Instrument.ts'
export type { InstrumentedModule, InstrumentOptions } from './wasm/binary/Instrument.ts'

export { BreakerBadMessageError, BreakerCallTimeoutError, BreakerStoppedError, CallNotPermittedError, InvalidBreakerConfigError } from './errors.ts'
export type { CallNotPermittedData } from './errors.ts'

// Circuit breaker (docs/components/circuit-breaker.md)
export { BREAKER_STATES, resolveBreakerOptions } from './breaker/BreakerOptions.ts'
export type { BreakerOptions, BreakerState, CallOutcome, OpenBackoff, ResolvedBreakerOptions } from './breaker/BreakerOptions.ts'
export { BreakerCore, REJECTED, UNTRACKED_PERMIT } from './breaker/BreakerCore.ts'
export type { BreakerCounters } from './breaker/BreakerCore.ts'
export type { BreakerSnapshot, BreakerTransition, TransitionReason } from './breaker/BreakerEvents.ts'
export { BreakerSharing } from './breaker/BreakerSharing.ts'
export type { SharedChange } from './breaker/BreakerSharing.ts'
export { CountWindow, TimeWindow } from './breaker/SlidingWindow.ts'
export type { SlidingWindow } from './breaker/SlidingWindow.ts'
export { BreakerMetrics, MAX_BREAKER_NAMES } from './breaker/BreakerMetrics.ts'
export { BreakerTransitionTopic, breakerStateTopic, CircuitBreaker } from './breaker/CircuitBreaker.ts'
export type { BreakerBroadcast, BreakerGrant, CircuitBreakerProtocol, OutcomeReport } from './breaker/CircuitBreaker.ts'
export { BreakerClient, withBreaker } from './breaker/BreakerClient.ts'
export type { BreakerCallOptions, BreakerClientStats, Protected } from './breaker/BreakerClient.ts'
export { spawnBreaker } from './breaker/spawnBreaker.ts'
export type { Breaker } from './breaker/spawnBreaker.ts'

// --- Rate limiters (actors/limiter) ---
export {
  ConcurrencyLimitedError,
  LimiterContentionError,
  LimiterErrorCodes,
  LimiterInvalidError,
  LimiterUnavailableError,
  RateLimitedError,
} from './errors.ts'
export type { Decision, DecisionSource } from './limiter/Decision.ts'
export type {
  AlgorithmSpec,
  FixedWindowSpec,
  GcraSpec,
  LimiterSpec,
  SlidingLogSpec,
  SlidingWindowSpec,
  StoreOptions,
  TokenBucketSpec,
} from './limiter/LimiterSpec.ts'
export { limiterSpecProblems, validateLimiterSpec } from './limiter/LimiterSpec.ts'
export type { LimiterStore, MaybePromise } from './limiter/LimiterStore.ts'
export { LocalLimiter } from './limiter/LocalLimiter.ts'
export { RedisLimiter } from './limiter/RedisLimiter.ts'
export type { RedisLimiterOptions } from './limiter/RedisLimiter.ts'
export { RateLimiter } from './limiter/RateLimiter.ts'
export type { FailurePolicy, LimiterStats, RateLimiterOptions } from './limiter/RateLimiter.ts'
export { RateLimiterActor } from './limiter/RateLimiterActor.ts'
export type { RateLimiterActorOptions, RateLimiterProtocol } from './limiter/RateLimiterActor.ts'
export { LimiterMetrics } from './limiter/LimiterMetrics.ts'
export { ConcurrencyLimiter, ConcurrencyLimiterActor, withPermit } from './limiter/ConcurrencyLimiter.ts'
export type { ConcurrencyLimiterOptions, ConcurrencyLimiterProtocol, ConcurrencyStats, Permit } from './limiter/ConcurrencyLimiter.ts'

// --- Service clients (actors/clients): PgPool, RedisClient (docs/components/clients.md) ---
export {
  ClientErrorCodes,
  ClientInvalidConfigError,
  PgBadCallError,
  PgClosedError,
  PgConnectionError,
  PgQueryError,
  PgRolledBackError,
  PgTimeoutError,
  RedisBadCallError,
  RedisClosedError,
  RedisCommandError,
  RedisConnectionError,
  RedisTimeoutError,
  ServiceUnhealthyError,
} from './errors.ts'
export { PgPool } from './clients/PgPool.ts'
export type { PgPoolOptions, PgPoolProtocol, PgResult, PgTransaction } from './clients/PgPool.ts'
export { RedisClient } from './clients/RedisClient.ts'
export type { PipelineReply, RedisArg, RedisClientOptions, RedisClientProtocol, RedisReconnectOptions } from './clients/RedisClient.ts'
export { backoffDelay, ClientHealthTopic, clientReadiness, combineReadiness, Hysteresis } from './clients/Health.ts'
export type { ClientReadiness, HealthSnapshot, HealthStatus, HealthTransition, ReadinessCheck } from './clients/Health.ts'
export { DEFAULT_CLIENT_BREAKER } from './clients/ClientOptions.ts'
export type { ClientBreakerOptions, CommonClientOptions, HealthOptions } from './clients/ClientOptions.ts'
export { ClientMetrics } from './clients/ClientMetrics.ts'
export { isPgServiceFault, mapPgError } from './clients/pgErrors.ts'
export { isRedisServiceFault, mapRedisError } from './clients/redisErrors.ts'
// Fencing tokens on client writes (PgPool.transaction(fn, { fence }), RedisClient.fenced)
export { FencedError } from './errors.ts'
export type { Fence, FencingToken } from './clients/Fence.ts'
export type { PgTransactionOptions } from './clients/PgPool.ts'
// PgPool's port and its PostgreSQL twin for the simulator (docs/components/clients.md#simulation-the-twins-of-the-connections)
export { pgDriverPort } from './clients/PgPort.ts'
export type { PgPort, PgPortConnection, PgPortFactory, PgPortResult, PgPortSettings } from './clients/PgPort.ts'
export { basicPgHandler, MemoryPostgres, pgServerError } from './clients/MemoryPostgres.ts'
export type { MemoryPostgresOptions, PgAnswer, PgQueryHandler, PgServerAnswer, PgStatement } from './clients/MemoryPostgres.ts'
export { memoryPgPort } from './clients/MemoryPgPort.ts'
export type { MemoryPgPortOptions, PgServerPort } from './clients/MemoryPgPort.ts'
// Simulator twins behind the limiter's script port (docs/components/rate-limiter.md#simulation)
export type { LimiterScriptPort } from './limiter/LimiterScriptPort.ts'
export { MemoryLimiterServer } from './limiter/MemoryLimiterServer.ts'
export type { ServerClock } from './limiter/MemoryLimiterServer.ts'
// Token leasing over the Redis store (docs/components/rate-limiter.md#token-leasing)
export { LeasedLimiter } from './limiter/LeasedLimiter.ts'
export type { LeasedLimiterOptions, LeaseStats } from './limiter/LeasedLimiter.ts'
export { MemoryRedis } from './clients/MemoryRedis.ts'
export type { RedisConnectionPort } from './clients/MemoryRedis.ts'

// --- Kafka bridge (actors/kafka; docs/components/kafka-bridge.md) ---
export {
  KafkaAuthError,
  KafkaClientMissingError,
  KafkaClosedError,
  KafkaDecodeError,
  KafkaErrorCodes,
  kafkaErrorKind,
  KafkaFencedError,
  KafkaInvalidConfigError,
  KafkaInvalidStateError,
  KafkaProduceFailedError,
  KafkaRebalanceError,
  KafkaTimeoutError,
  KafkaTransactionTimedOutError,
  KafkaUnavailableError,
} from './kafka/errors.ts'
export type { KafkaErrorKind } from './kafka/errors.ts'
export type {
  ConsumerConfig,
  GroupMetadata,
  KafkaClientPort,
  KafkaConsumerPort,
  KafkaProducerPort,
  KafkaRecord,
  OutRecord,
  ProducerConfig,
  RebalanceListener,
  TopicPartition,
  TopicPartitionOffset,
} from './kafka/KafkaPort.ts'
export { KafkaTwin } from './kafka/twin/KafkaTwin.ts'
export type { KafkaTwinOptions, TwinOperation } from './kafka/twin/KafkaTwin.ts'
export { resolveBridgeOptions } from './kafka/BridgeOptions.ts'
export type { BridgeMode, KafkaBridgeOptions } from './kafka/BridgeOptions.ts'
export type { BridgeStats } from './kafka/BridgeBatch.ts'
export { decodeRecord, dlqRecord } from './kafka/RecordCodec.ts'
export type { RecordDecoder, RecordMeta } from './kafka/RecordCodec.ts'
export { KafkaBridgeConsumer } from './kafka/KafkaBridgeConsumer.ts'
export type { KafkaBridgeConsumerProtocol } from './kafka/KafkaBridgeConsumer.ts'
export { KafkaProducerActor } from './kafka/KafkaProducerActor.ts'
export type { KafkaProducerOptions, KafkaProducerProtocol } from './kafka/KafkaProducerActor.ts'
export { spawnKafkaBridge } from './kafka/spawnKafkaBridge.ts'
export type { KafkaBridge, KafkaBridgeSpec } from './kafka/spawnKafkaBridge.ts'
export { CONFLUENT_PACKAGE, ConfluentKafkaClient, loadConfluentKafka } from './kafka/confluent/ConfluentKafkaClient.ts'
export type { ConfluentKafkaClientOptions } from './kafka/confluent/ConfluentKafkaClient.ts'
export { mapNativeError } from './kafka/confluent/confluentErrors.ts'

// --- Two-tier cache (actors/cache; docs/components/cache.md) ---
export {
  CacheBadCallError,
  CacheDecodeError,
  CacheErrorCodes,
  CacheInvalidConfigError,
  CacheL2UnavailableError,
  CacheLoadFailedError,
  CacheLoadTimeoutError,
} from './errors.ts'
export { Cache } from './cache/Cache.ts'
export type { CacheProtocol } from './cache/Cache.ts'
export { resolveCacheOptions } from './cache/CacheOptions.ts'
export type { BloomOptions, CacheOptions, Loader, LockOptions } from './cache/CacheOptions.ts'
export type { LoadOptions as CacheLoadOptions } from './cache/Loads.ts'
export type { InvalidateTarget, SetOptions as CacheSetOptions, WriteResult as CacheWriteResult } from './cache/Writes.ts'
export type { CacheStats } from './cache/CacheStats.ts'
export { CacheView } from './cache/CacheView.ts'
export { CacheMetrics } from './cache/CacheMetrics.ts'
export type { CacheL2Store, L2DeleteResult, L2Read, L2Record, L2WriteResult } from './cache/CacheL2Store.ts'
export { MemoryCacheL2 } from './cache/MemoryCacheL2.ts'
export type { L2Faults } from './cache/MemoryCacheL2.ts'
export { RedisCacheL2 } from './cache/RedisCacheL2.ts'
export type { RedisCacheL2Options } from './cache/RedisCacheL2.ts'
export { decodeInvalidation, encodeInvalidation, MemoryInvalidationHub } from './cache/InvalidationBus.ts'
export type { BusFaults, InvalidationBus, InvalidationMessage } from './cache/InvalidationBus.ts'
export { NatsInvalidationBus } from './cache/NatsInvalidationBus.ts'
export type { NatsInvalidationBusOptions } from './cache/NatsInvalidationBus.ts'
export { L1Store, estimateBytes } from './cache/L1Store.ts'
export type { EvictionReason, L1Bounds, L1Counters } from './cache/L1Store.ts'
export type { CacheNode } from './cache/LruList.ts'
export { BloomFilter } from './cache/BloomFilter.ts'
export { FrequencySketch } from './cache/FrequencySketch.ts'
export { decodePayload, encodePayload, PAYLOAD_FORMAT } from './cache/CachePayload.ts'

// --- Task queue on Redis Streams (actors/taskqueue; docs/components/task-queue.md) ---
export {
  TaskHandlerFailedError,
  TaskInvalidError,
  TaskLeaseLostError,
  TaskQueueErrorCodes,
  TaskQueueFullError,
  TaskQueueUnavailableError,
  TaskTooLargeError,
} from './errors.ts'
export { DEFAULT_PRIORITIES, resolveBackoff, retryDelay } from './taskqueue/TaskQueueOptions.ts'
export type { PriorityLevel, ResolvedBackoff, RetryBackoff, TaskQueueConfig } from './taskqueue/TaskQueueOptions.ts'
export { fillPlan, WeightedSelector } from './taskqueue/WeightedSelector.ts'
export { decodeTask } from './taskqueue/TaskCodec.ts'
export type { DeadLetter, Decoded, TaskRecord } from './taskqueue/TaskCodec.ts'
export type { FetchedEntry, PriorityStats, QueueStats, TaskStore } from './taskqueue/TaskStore.ts'
export { RedisTaskStore } from './taskqueue/RedisTaskStore.ts'
export { TaskProducer } from './taskqueue/TaskProducer.ts'
export type { Enqueued, EnqueueOptions, ReplayOptions } from './taskqueue/TaskProducer.ts'
export { TaskWorker } from './taskqueue/TaskWorker.ts'
export type { TaskContext, TaskHandler, TaskWorkerOptions, TaskWorkerProtocol, TaskWorkerStats } from './taskqueue/TaskWorker.ts'
export { TaskScheduler } from './taskqueue/TaskScheduler.ts'
export type { TaskSchedulerOptions, TaskSchedulerProtocol, TaskSchedulerStats } from './taskqueue/TaskScheduler.ts'
export { spawnTaskQueue, TaskQueue, taskQueueChildren } from './taskqueue/TaskQueue.ts'
export type { QueueWorkers, TaskQueueFamily, TaskQueueProtocol, TaskQueueSystemOptions } from './taskqueue/TaskQueue.ts'
export { TaskQueueMetrics } from './taskqueue/TaskQueueMetrics.ts'
export { MemoryTaskRedis } from './taskqueue/MemoryTaskRedis.ts'
export { MemoryStreams } from './taskqueue/MemoryStreams.ts'
export type { TaskScriptName, TaskScriptPort } from './taskqueue/TaskScriptPort.ts'
export type { Fetched } from './taskqueue/TaskStore.ts'
// Same-shard fast path to a RedisClient (no message per call; the cache's L2 uses it)
export { RedisFastPath } from './clients/RedisFastPath.ts'
