import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nkeys, type Authenticator } from '@nats-io/nats-core'
import { afterAll, describe, expect, it } from 'vitest'
import { natsConnectOptions } from '../../../cluster/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'troupe-auth-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function authenticate(options: ReturnType<typeof natsConnectOptions>): Record<string, unknown> {
  return (options.authenticator as Authenticator)('nonce-1') as unknown as Record<string, unknown>
}

describe('natsConnectOptions', () => {
  it('maps user/password, token and TLS files to nats.js options', () => {
    expect(natsConnectOptions({ user: 'u', pass: 'p' })).toEqual({ user: 'u', pass: 'p' })
    expect(natsConnectOptions({ token: 't' })).toEqual({ token: 't' })
    expect(natsConnectOptions({ tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/c.key' } })).toEqual({ tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/c.key' } })
    expect(natsConnectOptions(undefined)).toEqual({})
  })

  it('signs the server nonce with the NKey seed file, read at every connect (a replaced file rotates the key)', () => {
    const seedFile = join(dir, 'user.nk')
    const first = nkeys.createUser()
    writeFileSync(seedFile, `${new TextDecoder().decode(first.getSeed())}\n`)
    const options = natsConnectOptions({ nkeySeedFile: seedFile })
    const auth = authenticate(options)
    expect(auth['nkey']).toBe(first.getPublicKey())
    expect(first.verify(new TextEncoder().encode('nonce-1'), nkeys.decode(auth['sig'] as string))).toBe(true)
    const second = nkeys.createUser()
    writeFileSync(seedFile, new TextDecoder().decode(second.getSeed()))
    expect(authenticate(options)['nkey']).toBe(second.getPublicKey())
  })

  it('takes the JWT and seed of a .creds file', () => {
    const user = nkeys.createUser()
    const jwt = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln'
    const creds = join(dir, 'user.creds')
    writeFileSync(
      creds,
      `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(user.getSeed())}\n------END USER NKEY SEED------\n`,
    )
    const auth = authenticate(natsConnectOptions({ credsFile: creds }))
    expect(auth).toMatchObject({ jwt, nkey: user.getPublicKey() })
  })

  it('refuses two credential kinds, a password without a user, and half a client certificate', () => {
    expect(() => natsConnectOptions({ user: 'u', token: 't' })).toThrow(/use one of/)
    expect(() => natsConnectOptions({ pass: 'p' })).toThrow(/password needs a user/)
    expect(() => natsConnectOptions({ tls: { certFile: '/c.pem' } })).toThrow(/certificate and its key go together/)
  })
})
