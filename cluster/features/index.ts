/** Actor-facing cluster features (issue 14) over the ClusterState port: receptionist, singletons, pub-sub, cluster routers. */
export { Cluster, clusterOf, createCluster, SingletonProxyRef } from './Cluster.ts'
export type { ClusterOptions, SingletonHandle, SingletonOptions } from './Cluster.ts'
export { Receptionist } from './Receptionist.ts'
export { serviceKey, refString } from './ServiceKey.ts'
export type { ServiceKey } from './ServiceKey.ts'
export { ClusterRoutees } from './ClusterRoutees.ts'
export { PubSub, pubSubTopic } from './PubSub.ts'
export type { LagPolicy, PubSubClosed, PubSubCloseReason, PubSubSubscription, PubSubTopic, SubscribeOptions } from './PubSubTypes.ts'
export type { SingletonStatus, SingletonToken } from './SingletonManager.ts'
export type { SingletonProxyOptions } from './SingletonProxy.ts'
export {
  ClusterFeatureErrorCodes,
  ClusterFeaturesStoppedError,
  ClusterInvalidKeyError,
  PubSubLaggedError,
  SingletonProxyOverflowError,
  SingletonUnavailableError,
} from './errors.ts'
