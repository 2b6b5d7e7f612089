/**
 * Public entry point of the component layer (`troupe/actors`): built-in actors (circuit breaker,
 * rate limiters, service clients, sandbox, …), each an actor under a supervisor. Imports only the
 * layers to its left (runtime, supervision, transport, cluster).
 */
export { ActorsErrorCodes } from './errors.ts'
