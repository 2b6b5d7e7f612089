import { Actor, type Directive } from './Actor.ts'
import type { ActorRef } from './ActorRef.ts'
import type { ActorSystem } from './ActorSystem.ts'
import type { ActorSystemOptions } from './ActorSystemOptions.ts'
import { ActorInitError, errorCode, ErrorCodes } from './errors.ts'

/** Each system's `guardianStrategy` option, kept off the public object. */
const guardianStrategies = new WeakMap<ActorSystem, ActorSystemOptions['guardianStrategy']>()

export function setGuardianStrategy(system: ActorSystem, strategy: ActorSystemOptions['guardianStrategy']): void {
  guardianStrategies.set(system, strategy)
}

/** The user guardian: parent of every top-level actor (`/user`). */
export class UserGuardian extends Actor<Record<string, never>> {
  override onChildFailure(child: ActorRef<any>, error: Error): Directive {
    const strategy = guardianStrategies.get(this.context.system)
    if (typeof strategy === 'function') return strategy(child, error)
    if (strategy !== undefined) return strategy
    // A top-level supervisor that gave up is the application failing: nothing above can fix it.
    if (errorCode(error) === ErrorCodes.SupervisorGaveUp) return 'escalate'
    // A start failure would fail again on restart: stop it (Akka's ActorInitializationException rule).
    return error instanceof ActorInitError ? 'stop' : 'restart'
  }
}
