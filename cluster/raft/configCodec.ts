import { ByteReader, ByteWriter } from './bytes.ts'
import { RaftMalformedMessageError } from './errors.ts'
import type { RaftConfiguration } from './RaftStorage.ts'

/** Most servers a configuration may name (a bound on hostile input, far above any real cluster). */
export const MAX_SERVERS = 1024
/** Longest server id, in UTF-8 bytes. */
export const MAX_ID_BYTES = 256

export function writeConfig(w: ByteWriter, config: RaftConfiguration): void {
  w.u32(config.voters.length)
  for (const v of config.voters) w.str(v)
  w.u32(config.learners.length)
  for (const l of config.learners) w.str(l)
}

export function readConfig(r: ByteReader): RaftConfiguration {
  const voters = readIds(r, 'voters')
  const learners = readIds(r, 'learners')
  const seen = new Set(voters)
  if (seen.size !== voters.length) throw new RaftMalformedMessageError('configuration names a voter twice')
  for (const l of learners) {
    if (seen.has(l)) throw new RaftMalformedMessageError(`configuration names ${l} as both voter and learner`)
    seen.add(l)
  }
  if (seen.size !== voters.length + learners.length) throw new RaftMalformedMessageError('configuration names a learner twice')
  return { voters, learners }
}

function readIds(r: ByteReader, what: string): string[] {
  const n = r.u32(`${what} count`)
  if (n > MAX_SERVERS) throw new RaftMalformedMessageError(`${n} ${what}, more than ${MAX_SERVERS}`)
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const id = r.str(what, MAX_ID_BYTES)
    if (id.length === 0) throw new RaftMalformedMessageError(`an empty server id among ${what}`)
    out.push(id)
  }
  return out
}

/** A configuration entry's bytes. */
export function encodeConfig(config: RaftConfiguration): Uint8Array {
  const w = new ByteWriter(64)
  writeConfig(w, config)
  return w.finish()
}

export function decodeConfig(data: Uint8Array): RaftConfiguration {
  const r = new ByteReader(data)
  const config = readConfig(r)
  r.end()
  return config
}
