import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { InvalidArgumentError } from '../../runtime/index.ts'

/**
 * The cluster secret of a node (docs/security.md): every node frame and heartbeat it publishes is
 * signed with `current`; frames signed with `current` or `previous` are accepted. Two keys let a
 * cluster rotate its secret without a flag day. Plain data, so it crosses into worker shards.
 */
export interface ClusterSecret {
  /** Signs everything this node sends; accepted. At least 16 bytes (32 random bytes recommended). */
  readonly current: string | Uint8Array
  /** Accepted too, never used to sign: the key being rotated out (or the one being rotated in). */
  readonly previous?: string | Uint8Array
}

/** Bytes a signature adds after the payload: u32 key id (little-endian) then the 32-byte HMAC-SHA256. */
export const SIGNATURE_BYTES = 36
const MIN_KEY_BYTES = 16
/** Subject prefixes cached for signing; a node talks to a bounded set of subjects, this only caps a pathological one. */
const MAX_CACHED_SUBJECTS = 4096

interface Key {
  readonly id: number
  readonly secret: Buffer
}

/**
 * HMAC-SHA256 over the subject and the payload, appended as a trailer:
 *
 *   payload · u32 keyId (LE) · HMAC-SHA256(key, u16 subjectLength (LE) · subject (UTF-8) · payload)
 *
 * Covering the subject means a frame signed for one node's shard cannot be redirected to another's,
 * and a frame cannot pass as a heartbeat. The key id is derived from the key (the first 4 bytes of
 * SHA-256 over a fixed label and the key), so rotating needs no id bookkeeping; the receiver picks
 * the key by id and compares in constant time. A signature proves the sender holds a cluster key; it
 * does not stop a replay of a frame recorded earlier (see docs/security.md).
 */
export class FrameSigner {
  /** Id of the key that signs. */
  readonly keyId: number
  private readonly current: Key
  private readonly previous: Key | null
  private readonly prefixes = new Map<string, Buffer>()

  constructor(secret: ClusterSecret) {
    this.current = toKey(secret.current, 'current')
    this.previous = secret.previous === undefined ? null : toKey(secret.previous, 'previous')
    if (this.previous !== null && this.previous.id === this.current.id) {
      throw new InvalidArgumentError('the previous cluster secret must differ from the current one')
    }
    this.keyId = this.current.id
  }

  /** Ids of the keys accepted (current first): for logs, never the keys. */
  get acceptedKeyIds(): number[] {
    return this.previous === null ? [this.current.id] : [this.current.id, this.previous.id]
  }

  /** `payload` followed by its signature for `subject` (a new buffer; the payload is not changed). */
  sign(subject: string, payload: Uint8Array): Uint8Array {
    const length = payload.byteLength
    const out = Buffer.allocUnsafe(length + SIGNATURE_BYTES)
    out.set(payload, 0)
    out.writeUInt32LE(this.current.id, length)
    const mac = this.mac(this.current, subject, payload)
    mac.copy(out, length + 4)
    return out
  }

  /**
   * The payload of a signed message, or null when it carries no valid signature for `subject` by an
   * accepted key (too short, unknown key id, or a wrong MAC). The payload is a view, not a copy.
   */
  verify(subject: string, signed: Uint8Array): Uint8Array | null {
    const length = signed.byteLength - SIGNATURE_BYTES
    if (length < 0) return null
    const view = Buffer.from(signed.buffer, signed.byteOffset, signed.byteLength)
    const id = view.readUInt32LE(length)
    const key = id === this.current.id ? this.current : id === this.previous?.id ? this.previous : null
    if (key === null) return null
    const payload = signed.subarray(0, length)
    const expected = this.mac(key, subject, payload)
    return timingSafeEqual(expected, view.subarray(length + 4)) ? payload : null
  }

  private mac(key: Key, subject: string, payload: Uint8Array): Buffer {
    return createHmac('sha256', key.secret).update(this.prefix(subject)).update(payload).digest()
  }

  /** u16 length · subject bytes: the length keeps subject and payload apart in the MAC input. */
  private prefix(subject: string): Buffer {
    let prefix = this.prefixes.get(subject)
    if (prefix === undefined) {
      const bytes = Buffer.from(subject, 'utf8')
      prefix = Buffer.allocUnsafe(2 + bytes.byteLength)
      prefix.writeUInt16LE(bytes.byteLength, 0)
      bytes.copy(prefix, 2)
      if (this.prefixes.size >= MAX_CACHED_SUBJECTS) this.prefixes.clear()
      this.prefixes.set(subject, prefix)
    }
    return prefix
  }
}

function toKey(secret: string | Uint8Array, which: string): Key {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
  if (bytes.byteLength < MIN_KEY_BYTES) {
    throw new InvalidArgumentError(`the ${which} cluster secret must be at least ${MIN_KEY_BYTES} bytes (32 random bytes recommended), got ${bytes.byteLength}`)
  }
  const id = createHash('sha256').update('troupe cluster key id\0').update(bytes).digest().readUInt32LE(0)
  return { id, secret: bytes }
}

/** The key id a secret signs with (what `FrameSigner.keyId` reports), for operators checking a rollout. */
export function clusterKeyId(secret: string | Uint8Array): number {
  return toKey(secret, 'given').id
}
