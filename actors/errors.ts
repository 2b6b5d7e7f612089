/**
 * Errors of the built-in component actors. Each component adds its codes here, so that one table
 * lists every code the `troupe/actors` entry can raise.
 */
export const ActorsErrorCodes = {} as const
