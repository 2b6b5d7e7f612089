import { RESERVED_METHODS } from '../runtime/index.ts'

/** Names never treated as messages to forward: `await` probes `then`, serializers probe `toJSON`. */
const NEVER_FORWARDED: ReadonlySet<string> = new Set(['then', 'catch', 'finally', 'toJSON', 'constructor'])

/**
 * Wraps an actor so that every message name its class does not define is handled by a forwarder
 * (routers and the backoff supervisor speak their routee's or child's protocol, which they do not
 * know statically). The runtime finds a handler as `actor[method]`, so the wrapper is a Proxy: a
 * name the actor has (its own messages, fields, lifecycle hooks) is the actor's; any other string
 * gets the forwarder for that name, made once per name. The actor must initialise every field it
 * reads (an absent field would read as a forwarder).
 */
export function withForwarding<A extends object>(actor: A, forwarderFor: (method: string) => (...args: unknown[]) => unknown): A {
  const forwarders = new Map<string, (...args: unknown[]) => unknown>()
  return new Proxy(actor, {
    get(target, prop, receiver) {
      if (typeof prop !== 'string' || prop in target || RESERVED_METHODS.has(prop) || NEVER_FORWARDED.has(prop)) return Reflect.get(target, prop, receiver)
      let forwarder = forwarders.get(prop)
      if (forwarder === undefined) {
        forwarder = forwarderFor(prop)
        forwarders.set(prop, forwarder)
      }
      return forwarder
    },
  })
}
