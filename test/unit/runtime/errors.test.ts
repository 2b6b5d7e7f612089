import { describe, expect, it } from 'vitest'
import * as runtime from '../../../runtime/index.ts'
import { decodeError, defineError, encodeError, errorCode, ErrorCodes, HandlerFailedError, registerErrorCode, toError, TroupeError } from '../../../runtime/index.ts'

type ErrorClass = new (message: string, options?: { cause?: unknown; data?: unknown }) => TroupeError

/** Every typed error the runtime exports (found by walking the public entry point, so new ones are covered). */
const errorClasses: [string, ErrorClass][] = Object.entries(runtime).filter(
  // Rejection is a base class (like TroupeError) for user-defined refusals, not an error of its own.
  (entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof TroupeError && entry[1] !== runtime.Rejection,
)

const knownCodes = new Set<string>(Object.values(ErrorCodes))

describe('errors', () => {
  it('the runtime exports its typed errors', () => {
    expect(errorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'MailboxFullError',
        'AskTimeoutError',
        'ActorStoppedError',
        'UnknownActorError',
        'UnknownMethodError',
        'NameTakenError',
        'StashFullError',
        'MessageTooLargeError',
        'NotSerializableError',
        'MalformedFrameError',
        'ActorInitError',
      ]),
    )
  })

  it.each(errorClasses)('%s has its name, a stable code, cause and data', (exportName, ErrorClass) => {
    const cause = new Error('root cause')
    const error = new ErrorClass('something went wrong', { cause, data: { detail: 1 } })
    expect(error).toBeInstanceOf(Error)
    expect(error).toBeInstanceOf(TroupeError)
    expect(error).toBeInstanceOf(ErrorClass)
    expect(error.name).toBe(exportName)
    expect(ErrorClass.name).toBe(exportName)
    expect(knownCodes.has(error.code)).toBe(true)
    expect(error.code).toMatch(/^ERR_[A-Z_]+$/)
    expect(error.message).toBe('something went wrong')
    expect(error.cause).toBe(cause)
    expect(error.data).toEqual({ detail: 1 })
    expect(String(error.stack)).toContain(exportName)
    // Without options: no cause, no data.
    const bare = new ErrorClass('bare')
    expect(bare.cause).toBeUndefined()
    expect(bare.data).toBeUndefined()
  })

  it('each error class has its own code', () => {
    const codes = errorClasses.map(([, ErrorClass]) => new ErrorClass('x').code)
    expect(new Set(codes).size).toBe(codes.length)
  })

  it.each(errorClasses)('%s survives encode/decode: the class is rebuilt from the code', (_name, ErrorClass) => {
    const original = new ErrorClass('crossed a boundary', { cause: new Error('not carried'), data: { n: 42 } })
    const encoded = encodeError(original)
    expect(encoded).toEqual({ code: original.code, name: original.name, message: 'crossed a boundary', data: { n: 42 } })
    // What crosses a boundary is plain data.
    const wire = JSON.parse(JSON.stringify(encoded)) as typeof encoded
    const decoded = decodeError(wire)
    expect(decoded).toBeInstanceOf(ErrorClass)
    expect(decoded).toMatchObject({ code: original.code, name: original.name, message: 'crossed a boundary', data: { n: 42 } })
  })

  it('an unknown code decodes to a TroupeError that keeps the code and name', () => {
    const decoded = decodeError({ code: 'ERR_FROM_THE_FUTURE', name: 'FutureError', message: 'm' })
    expect(decoded.constructor).toBe(TroupeError)
    expect(decoded).toMatchObject({ code: 'ERR_FROM_THE_FUTURE', name: 'FutureError', message: 'm' })
  })

  it('foreign errors encode with their own string code, or ERR_HANDLER_FAILED', () => {
    const system = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
    expect(encodeError(system)).toEqual({ code: 'ECONNREFUSED', name: 'Error', message: 'refused' })
    expect(encodeError(new TypeError('bad'))).toEqual({ code: ErrorCodes.HandlerFailed, name: 'TypeError', message: 'bad' })
    expect(errorCode(new RangeError('r'))).toBe('ERR_HANDLER_FAILED')
  })

  it('a thrown non-error becomes a HandlerFailedError carrying the value', () => {
    const error = toError('just a string')
    expect(error).toBeInstanceOf(HandlerFailedError)
    expect(error).toMatchObject({ code: 'ERR_HANDLER_FAILED', data: 'just a string' })
    expect(encodeError(42)).toMatchObject({ code: 'ERR_HANDLER_FAILED', data: 42 })
    const real = new Error('kept')
    expect(toError(real)).toBe(real)
  })

  it('other layers register their errors so decode rebuilds them', () => {
    const CustomError = defineError('ERR_TEST_CUSTOM', 'CustomError')
    expect(decodeError(encodeError(new CustomError('c')))).toBeInstanceOf(CustomError)
    class HandWritten extends TroupeError {
      constructor(message: string, options?: { cause?: unknown; data?: unknown }) {
        super('ERR_TEST_HAND_WRITTEN', message, options)
        this.name = 'HandWritten'
      }
    }
    registerErrorCode('ERR_TEST_HAND_WRITTEN', HandWritten)
    expect(decodeError({ code: 'ERR_TEST_HAND_WRITTEN', name: 'HandWritten', message: 'h' })).toBeInstanceOf(HandWritten)
  })
})
