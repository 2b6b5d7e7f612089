/** A published actor and a gateway over a real NATS server, shared by the gateway tests. */
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Actor, ActorSystem } from '../../../runtime/index.ts'
import { Gateway } from '../../../cluster/index.ts'
import { uniqueCluster } from '../../support/services.ts'

export interface AccountProtocol {
  deposit(amount: number): number
  balance(): number
  describe(owner: { name: string; tags: string[] }): { name: string; tags: string[]; balance: number }
  fail(): void
  slow(ms: number): Promise<string>
  huge(): bigint
  nothing(): void
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
  describe(owner: { name: string; tags: string[] }) {
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
}

export interface GatewayFixture {
  readonly cluster: string
  readonly system: ActorSystem
  readonly connection: NatsConnection
  readonly gateway: Gateway
  stop(): Promise<void>
}

/** Publishes an Account as `bank` (deposit/balance/describe/fail/slow/huge/nothing; deposit validated). */
export async function startGateway(url: string, options: { maxPayloadBytes?: number } = {}): Promise<GatewayFixture> {
  const cluster = uniqueCluster('gw')
  const system = ActorSystem.create({ name: cluster, node: 'gw' })
  const connection = await connect({ servers: url, name: `${cluster}/gateway` })
  const gateway = await Gateway.start({ connection, system, ...options })
  const account = system.spawn(Account, { name: 'account' })
  await gateway.publish('bank', account, {
    methods: ['deposit', 'balance', 'describe', 'fail', 'slow', 'huge', 'nothing'],
    validate: (method, args) => {
      if (method !== 'deposit') return true
      if (args.length !== 1 || typeof args[0] !== 'number' || !Number.isFinite(args[0])) return 'deposit takes one finite number'
      return args[0] > 0 || 'amount must be positive'
    },
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
