import { ActorRef } from './ActorRef.ts'
import { NotSerializableError } from './errors.ts'

const PLAIN_PROTOTYPES = new Set<unknown>([Object.prototype, null])

/**
 * Walks a payload and throws NotSerializableError at the first value that would not survive a
 * boundary unchanged, naming where it is (`args[0].items[3].fn`).
 */
export function assertSerializable(value: unknown, where: string, seen: Set<object> = new Set()): void {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return
    case 'function':
      throw new NotSerializableError(`${where} is a function; functions cannot cross a thread or node`, { data: { where } })
    case 'symbol':
      throw new NotSerializableError(`${where} is a symbol; symbols cannot cross a thread or node`, { data: { where } })
  }
  if (value === null) return
  const object = value as object
  if (seen.has(object)) throw new NotSerializableError(`${where} is a cyclic reference`, { data: { where } })
  if (object instanceof ActorRef || object instanceof Date || ArrayBuffer.isView(object) || object instanceof Error) return
  seen.add(object)
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) assertSerializable(object[i], `${where}[${i}]`, seen)
      return
    }
    if (object instanceof Set) {
      let i = 0
      for (const item of object) assertSerializable(item, `${where}<set ${i++}>`, seen)
      return
    }
    if (object instanceof Map) {
      throw new NotSerializableError(`${where} is a Map, which arrives as a plain object; send an object or an array of entries`, { data: { where } })
    }
    if (!PLAIN_PROTOTYPES.has(Object.getPrototypeOf(object))) {
      const className = (object as { constructor?: { name?: string } }).constructor?.name ?? 'unknown'
      throw new NotSerializableError(`${where} is an instance of ${className}, which would arrive as a plain object; send plain data`, {
        data: { where, className },
      })
    }
    for (const key of Object.keys(object)) assertSerializable((object as Record<string, unknown>)[key], `${where}.${key}`, seen)
  } finally {
    seen.delete(object)
  }
}
