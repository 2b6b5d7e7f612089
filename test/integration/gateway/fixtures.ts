/** A published actor and a gateway over a real NATS server, shared by the gateway tests. */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as v from 'valibot'
import { z } from 'zod'
import { Actor, ActorSystem, Rejection, type ActorRef, type Logger } from '../../../runtime/index.ts'
import { Gateway } from '../../../cluster/index.ts'
import { uniqueCluster } from '../../support/services.ts'

export interface Owner {
  name: string
  tags: string[]
}

export interface AccountProtocol {
  deposit(amount: number): number
  balance(): number
  describe(owner: Owner): Owner & { balance: number }
  fail(): void
  slow(ms: number): Promise<string>
  huge(): bigint
  nothing(): void
  /** Replies with the actor's own ref: an ActorRef inside a reply. */
  whoami(): ActorRef<AccountProtocol>
  /** No schema: only the gateway's integer rule applies. Replies with what it got and its type. */
  echo(value: unknown): { value: unknown; type: string }
  /** Declared `bigint`: 64-bit integers arrive as BigInt (the schema takes both forms). */
  big(value: bigint): string
  /** The schema coerces: the handler gets the schema's output. */
  coerce(amount: number): string
  /** An async validator. */
  unlock(code: string): string
  /** Refuses with a code built from its input (the gateway must keep such codes out of headers and bounded in stats). */
  refuse(key: string): void
}

export class Account extends Actor<AccountProtocol> implements AccountProtocol {
  private amount = 0
  deposit(amount: number) {
    this.amount += amount
    return this.amount
  }
  balance() {
    return this.amount
  }
  describe(owner: Owner) {
    return { ...owner, balance: this.amount }
  }
  fail(): void {
    throw new Error('account exploded')
  }
  slow(ms: number) {
    return new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms))
  }
  huge() {
    return 2n ** 60n
  }
  nothing() {}
  whoami() {
    return this.self
  }
  echo(value: unknown) {
    return { value, type: typeof value }
  }
  big(value: bigint) {
    return `${typeof value}:${String(value)}`
  }
  coerce(amount: number) {
    return `${typeof amount}:${amount}`
  }
  unlock(code: string) {
    return `unlocked with ${code}`
  }
  refuse(key: string): void {
    throw new Rejection(`ERR_NOT_FOUND_${key}`, `no ${key}`)
  }
  /** TypeScript-private, so it cannot be published: from outside it is an unknown method. */
  private compensate(): void {
    this.amount += 1_000_000
  }
}

export const ACCOUNT_METHODS = ['deposit', 'balance', 'describe', 'fail', 'slow', 'huge', 'nothing', 'whoami', 'echo', 'big', 'coerce', 'unlock', 'refuse'] as const

export interface GatewayFixture {
  readonly cluster: string
  readonly system: ActorSystem
  readonly connection: NatsConnection
  readonly gateway: Gateway
  stop(): Promise<void>
}

/**
 * Publishes an Account as `bank` with zod and valibot schemas (an async one included) and
 * `bigint` declared for `big`. `secret` runs in the same system but is never published.
 */
export async function startGateway(url: string, options: { maxPayloadBytes?: number; logger?: Logger } = {}): Promise<GatewayFixture> {
  const cluster = uniqueCluster('gw')
  const system = ActorSystem.create({ name: cluster, node: 'gw' })
  const connection = await connect({ servers: url, name: `${cluster}/gateway` })
  const gateway = await Gateway.start({ connection, system, ...options })
  const account = system.spawn(Account, { name: 'account' })
  await gateway.publish('bank', account, {
    methods: ACCOUNT_METHODS,
    args: {
      deposit: z.tuple([z.number().positive('amount must be positive')]),
      describe: z.tuple([z.object({ name: z.string().min(1), tags: z.array(z.string()).max(10) })]),
      slow: z.tuple([z.number().int().min(0).max(10_000)]),
      big: v.tuple([v.union([v.bigint(), v.pipe(v.number(), v.integer(), v.transform((n) => BigInt(n)))])]),
      coerce: z.tuple([z.coerce.number().int()]),
      unlock: v.pipeAsync(
        v.tuple([v.string()]),
        v.checkAsync(async ([code]) => {
          await new Promise((resolve) => setTimeout(resolve, 5))
          return code === 'sesame'
        }, 'wrong code'),
      ),
    },
    bigint: ['big'],
  })
  // Reachable inside the system by name, but never published: outside callers must not reach it.
  system.spawn(Account, { name: 'secret', registerAs: 'secret' })
  return {
    cluster,
    system,
    connection,
    gateway,
    async stop() {
      await gateway.close()
      await system.terminate()
      await connection.close()
    },
  }
}
