import { describe, expect, it } from 'vitest'
import { Actor, ErrorCodes, InvalidNameError, NameTakenError, Registry } from '../../../runtime/index.ts'
import { useSystems } from './support/helpers.ts'

const newSystem = useSystems()

interface NamedProtocol {
  whoami(): string
}
class Named extends Actor<NamedProtocol> implements NamedProtocol {
  whoami(): string {
    return this.context.path
  }
}

describe('Registry', () => {
  it('registerAs makes an actor findable by name, system-wide', async () => {
    const system = newSystem()
    const ref = system.spawn(Named, { name: 'n1', registerAs: 'the-one' })
    const found = system.lookup<NamedProtocol>('the-one')
    expect(found?.equals(ref)).toBe(true)
    expect(await found?.ask('whoami')).toBe('/user/n1')
    expect(system.registry.names).toEqual(['the-one'])
    expect(system.lookup('nobody')).toBeUndefined()
  })

  it('a registered name is unique per system (ERR_NAME_TAKEN), but free in another system', () => {
    const system = newSystem()
    system.spawn(Named, { registerAs: 'svc' })
    let thrown: unknown
    try {
      system.spawn(Named, { name: 'other', registerAs: 'svc' })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(NameTakenError)
    expect(thrown).toMatchObject({ code: ErrorCodes.NameTaken, data: { name: 'svc' } })
    // The refused spawn left nothing behind.
    expect(system.resolvePath('/user/other')).toBeUndefined()
    expect(system.actorCount).toBe(1)
    expect(() => newSystem().spawn(Named, { registerAs: 'svc' })).not.toThrow()
  })

  it('the name is removed when the actor stops, and can then be taken again', async () => {
    const system = newSystem()
    const first = system.spawn(Named, { registerAs: 'svc' })
    await system.stop(first)
    expect(system.lookup('svc')).toBeUndefined()
    const second = system.spawn(Named, { registerAs: 'svc' })
    expect(system.lookup('svc')?.equals(second)).toBe(true)
  })

  it('sibling names are unique; the same name under another parent is fine', async () => {
    class Parent extends Actor<{ spawn(name: string): string }> {
      spawn(name: string): string {
        return this.context.spawn(Named, { name }).path
      }
    }
    const system = newSystem()
    const a = system.spawn(Parent, { name: 'a' })
    const b = system.spawn(Parent, { name: 'b' })
    expect(() => system.spawn(Named, { name: 'a' })).toThrow(NameTakenError)
    expect(await a.ask('spawn', 'x')).toBe('/user/a/x')
    expect(await b.ask('spawn', 'x')).toBe('/user/b/x')
    await expect(a.ask('spawn', 'x')).rejects.toBeInstanceOf(NameTakenError)
  })

  it('a stopped sibling frees its name', async () => {
    const system = newSystem()
    const first = system.spawn(Named, { name: 'reused' })
    await system.stop(first)
    const second = system.spawn(Named, { name: 'reused' })
    expect(second.path).toBe('/user/reused')
    // Same path, different incarnation.
    expect(second.equals(first)).toBe(false)
    expect(second.address.uid).not.toBe(first.address.uid)
  })

  it('refuses names that would break paths', () => {
    const system = newSystem()
    for (const name of ['a/b', '', 'has space', 'q?', 'x#1']) {
      expect(() => system.spawn(Named, { name }), name).toThrow(InvalidNameError)
    }
    expect(() => system.spawn(Named, { name: 'ok_name-1.2~x:y@z+w=v' })).not.toThrow()
  })

  it('register/unregister directly; re-registering the same ref is idempotent', () => {
    const system = newSystem()
    const ref = system.spawn(Named)
    const other = system.spawn(Named)
    const registry = new Registry()
    registry.register('r', ref)
    registry.register('r', ref)
    expect(() => registry.register('r', other)).toThrow(NameTakenError)
    expect(() => registry.register('', ref)).toThrow(InvalidNameError)
    expect(registry.unregister('r')).toBe(true)
    expect(registry.unregister('r')).toBe(false)
    expect(registry.lookup('r')).toBeUndefined()
  })
})
