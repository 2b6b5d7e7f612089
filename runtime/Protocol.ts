/**
 * Compile-time view of an actor's protocol: the interface of handler methods an actor implements.
 * `tell`/`ask` take a method name and its arguments; the reply type comes from the handler's
 * return type (a Promise is unwrapped).
 */

/** Names of the protocol's methods (string keys whose value is a function). */
export type MethodName<P> = {
  [K in keyof P]-?: P[K] extends (...args: any[]) => unknown ? K : never
}[keyof P] &
  string

/** Argument tuple of method `K`. */
export type MethodArgs<P, K extends keyof P> = P[K] extends (...args: infer A) => unknown ? A : never

/** What `ask` resolves to for method `K` (`any` for an untyped `ActorRef<any>`). */
export type MethodReply<P, K extends keyof P> = 0 extends 1 & P ? any : P[K] extends (...args: any[]) => infer R ? Awaited<R> : never

/** The message as it travels and as non-TypeScript clients write it. */
export interface Message {
  readonly method: string
  readonly args: readonly unknown[]
}
