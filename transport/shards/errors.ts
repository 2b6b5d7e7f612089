import { defineError, defineRejection } from '../../runtime/index.ts'

export const ShardErrorCodes = {
  /** A spawn named an actor class the app module does not register. */
  UnknownActorClass: 'ERR_UNKNOWN_ACTOR_CLASS',
  /** A shard worker could not start (app module failed to load, `startShard` threw, it exited during start). */
  ShardStart: 'ERR_SHARD_START',
  /** A TypeScript app module or worker entry needs a loader (tsx) that could not be found. */
  NoLoader: 'ERR_SHARD_LOADER',
} as const

/** Spawning a class the app module does not register under that name (a refusal: the shard carries on). */
export const UnknownActorClassError = defineRejection(ShardErrorCodes.UnknownActorClass, 'UnknownActorClassError')
export type UnknownActorClassError = InstanceType<typeof UnknownActorClassError>

/** A shard worker failed to start; `cause` (or `data.error`) says why. */
export const ShardStartError = defineError(ShardErrorCodes.ShardStart, 'ShardStartError')
export type ShardStartError = InstanceType<typeof ShardStartError>

/** Running from TypeScript sources needs a module loader in the worker threads (tsx), and none was found. */
export const ShardLoaderError = defineError(ShardErrorCodes.NoLoader, 'ShardLoaderError')
export type ShardLoaderError = InstanceType<typeof ShardLoaderError>
