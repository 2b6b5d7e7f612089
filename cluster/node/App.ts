import type { Actor, ActorClass, ActorSystem } from '../../runtime/index.ts'
import type { Logger } from '../../runtime/index.ts'

/** What an app gets when its node starts it. */
export interface AppContext {
  readonly system: ActorSystem
  /** Node id (cluster member name). */
  readonly node: string
  readonly logger: Logger
  /** App-specific settings from the `app` section of the config file. */
  readonly settings: Readonly<Record<string, unknown>>
  /** Makes an actor callable by external clients under a public name (only when NATS is configured). */
  publish(publicName: string, ref: import('../../runtime/index.ts').ActorRef<any>): void
}

/**
 * An app module: the actor classes it brings (by name, so shards and remote nodes can start them)
 * and how to start its supervision tree. A node loads the module's default export.
 */
export interface AppDefinition {
  readonly name: string
  readonly actors: Readonly<Record<string, ActorClass<Actor<any>, any[]>>>
  /** Builds the app's tree; the node is ready once it resolves. */
  start(context: AppContext): void | Promise<void>
  /** Runs before the actor tree is stopped on shutdown (flush, say goodbye); optional. */
  stop?(context: AppContext): void | Promise<void>
}

/** Declares an app module: `export default defineApp({ name, actors, start })`. */
export function defineApp(definition: AppDefinition): AppDefinition {
  return definition
}

export function isAppDefinition(value: unknown): value is AppDefinition {
  if (value === null || typeof value !== 'object') return false
  const app = value as Partial<AppDefinition>
  return typeof app.name === 'string' && typeof app.start === 'function' && typeof app.actors === 'object' && app.actors !== null
}
