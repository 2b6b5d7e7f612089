import { createRequire } from 'node:module'

/** This package's version (package.json, found by self-reference: right from sources and from dist/). */
export function troupeVersion(): string {
  const manifest = createRequire(import.meta.url)('troupe/package.json') as { version: string }
  return manifest.version
}
