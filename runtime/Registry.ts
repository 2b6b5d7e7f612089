import type { ActorRef } from './ActorRef.ts'
import { InvalidNameError, NameTakenError } from './errors.ts'

/**
 * System-wide unique names (Erlang's `register`/`whereis`). An entry is removed when its actor
 * stops; the runtime calls `removeActor`.
 */
export class Registry {
  private readonly byName = new Map<string, ActorRef<any>>()

  register(name: string, ref: ActorRef<any>): void {
    if (name.length === 0) throw new InvalidNameError('registered name must not be empty')
    const existing = this.byName.get(name)
    if (existing !== undefined && !existing.equals(ref)) {
      throw new NameTakenError(`name '${name}' is already registered to ${existing.path}`, { data: { name } })
    }
    this.byName.set(name, ref)
  }

  unregister(name: string): boolean {
    return this.byName.delete(name)
  }

  /** The ref registered under `name`, typed by the caller (the registry cannot check the protocol). */
  lookup<P = unknown>(name: string): ActorRef<P> | undefined {
    return this.byName.get(name) as ActorRef<P> | undefined
  }

  get names(): string[] {
    return [...this.byName.keys()]
  }

  /** @internal */
  removeActor(ref: ActorRef<any>, names: readonly string[]): void {
    for (const name of names) {
      if (this.byName.get(name) === ref) this.byName.delete(name)
    }
  }
}
