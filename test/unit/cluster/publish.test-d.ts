import * as v from 'valibot'
import { describe, expectTypeOf, test } from 'vitest'
import { z } from 'zod'
import { Actor, type ActorRef } from '../../../runtime/index.ts'
import type { AppContext, Gateway, PublishableMethod, PublishOptions } from '../../../cluster/index.ts'

interface AccountProtocol {
  deposit(txId: string, amount: number): number
  balance(): number
  rename(name: string, note?: string): void
}

class Account extends Actor<AccountProtocol> implements AccountProtocol {
  private total = 0
  deposit(_txId: string, amount: number): number {
    return (this.total += amount)
  }
  balance(): number {
    return this.total
  }
  rename(): void {}
  /** TypeScript-private: in the class, not in the protocol, so never publishable. */
  private compensate(): void {
    this.total = 0
  }
}

declare const gateway: Gateway
declare const app: AppContext
declare const ref: ActorRef<AccountProtocol>
declare const untyped: ActorRef<any>

describe('publish: default-deny, names checked against the protocol', () => {
  test('the names publish accepts are the protocol methods', () => {
    expectTypeOf<PublishableMethod<AccountProtocol>>().toEqualTypeOf<'deposit' | 'balance' | 'rename'>()
    void Account
  })

  test('listed protocol methods type-check, on the gateway and on the app context', () => {
    void gateway.publish('bank', ref, { methods: ['deposit', 'balance'] })
    app.publish('bank', ref, { methods: ['balance'] })
    const options: PublishOptions<AccountProtocol> = { methods: ['rename'] }
    void gateway.publish('bank', ref, options)
    // An untyped ref takes any names (they are still checked at run time).
    void gateway.publish('bank', untyped, { methods: ['anything'] })
  })

  test('the method list is required', () => {
    // @ts-expect-error no options: publication is default-deny
    void gateway.publish('bank', ref)
    // @ts-expect-error no methods
    void gateway.publish('bank', ref, {})
    // @ts-expect-error no options on the app context either
    app.publish('bank', ref)
  })

  test('unknown, private and lifecycle names are compile errors', () => {
    // @ts-expect-error not in the protocol
    void gateway.publish('bank', ref, { methods: ['withdraw'] })
    // @ts-expect-error TypeScript-private
    void gateway.publish('bank', ref, { methods: ['compensate'] })
    // @ts-expect-error a lifecycle hook
    void gateway.publish('bank', ref, { methods: ['preStart'] })
    // @ts-expect-error not in the protocol (app context)
    app.publish('bank', ref, { methods: ['deposit', 'withdraw'] })
  })
})

describe('publish: argument schemas (Standard Schema)', () => {
  test('zod and valibot tuples whose output fits the parameters', () => {
    void gateway.publish('bank', ref, {
      methods: ['deposit', 'balance', 'rename'],
      args: {
        deposit: z.tuple([z.string().min(1), z.number().int().positive()]),
        balance: v.tuple([]),
        rename: v.tuple([v.string(), v.optional(v.string())]),
      },
      bigint: ['deposit'],
    })
    // Coercion: the input may be anything, the output is what the handler gets.
    void gateway.publish('bank', ref, { methods: ['deposit'], args: { deposit: z.tuple([z.string(), z.coerce.number()]) } })
  })

  test('a schema whose output does not fit the method is a compile error', () => {
    void gateway.publish('bank', ref, {
      methods: ['deposit'],
      // @ts-expect-error amount must be a number
      args: { deposit: z.tuple([z.string(), z.string()]) },
    })
    void gateway.publish('bank', ref, {
      methods: ['deposit'],
      // @ts-expect-error a single value is not the argument tuple
      args: { deposit: z.number() },
    })
  })

  test('schemas and bigint only for listed methods', () => {
    void gateway.publish('bank', ref, {
      methods: ['deposit'],
      // @ts-expect-error balance is not published
      args: { balance: z.tuple([]) },
    })
    // @ts-expect-error balance is not published
    void gateway.publish('bank', ref, { methods: ['deposit'], bigint: ['balance'] })
  })
})
