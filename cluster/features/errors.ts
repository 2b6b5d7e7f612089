import { defineError } from '../../runtime/index.ts'

/**
 * Stable codes of the actor-facing cluster features (cluster/features). A name conflict is the
 * cluster state's own ERR_CLUSTER_NAME_CONFLICT (ClusterNameConflictError), passed through unchanged.
 */
export const ClusterFeatureErrorCodes = {
  ProxyOverflow: 'ERR_SINGLETON_PROXY_OVERFLOW',
  SingletonUnavailable: 'ERR_SINGLETON_UNAVAILABLE',
  PubSubLagged: 'ERR_PUBSUB_LAGGED',
  FeaturesStopped: 'ERR_CLUSTER_FEATURES_STOPPED',
  InvalidServiceKey: 'ERR_CLUSTER_INVALID_KEY',
} as const

/** A singleton proxy's hand-over buffer was full: the message was not sent (dead letter `overflow`, or this error to an ask). */
export const SingletonProxyOverflowError = defineError(ClusterFeatureErrorCodes.ProxyOverflow, 'SingletonProxyOverflowError')
export type SingletonProxyOverflowError = InstanceType<typeof SingletonProxyOverflowError>
/**
 * No singleton instance took the message within the proxy's buffer timeout, or the route to the
 * holder timed out (then the outcome is unknown: the proxy never resends, so delivery stays at most once).
 */
export const SingletonUnavailableError = defineError(ClusterFeatureErrorCodes.SingletonUnavailable, 'SingletonUnavailableError')
export type SingletonUnavailableError = InstanceType<typeof SingletonUnavailableError>
/** A pub-sub subscriber with lag policy `disconnect` fell `bufferSize` messages behind and was removed. */
export const PubSubLaggedError = defineError(ClusterFeatureErrorCodes.PubSubLagged, 'PubSubLaggedError')
export type PubSubLaggedError = InstanceType<typeof PubSubLaggedError>
/** The cluster features were stopped (`cluster.stop()`), or the actor system terminated. */
export const ClusterFeaturesStoppedError = defineError(ClusterFeatureErrorCodes.FeaturesStopped, 'ClusterFeaturesStoppedError')
export type ClusterFeaturesStoppedError = InstanceType<typeof ClusterFeaturesStoppedError>
/** A service key, topic or singleton name that is empty, too long, or uses the reserved `troupe.` prefix. */
export const ClusterInvalidKeyError = defineError(ClusterFeatureErrorCodes.InvalidServiceKey, 'ClusterInvalidKeyError')
export type ClusterInvalidKeyError = InstanceType<typeof ClusterInvalidKeyError>
