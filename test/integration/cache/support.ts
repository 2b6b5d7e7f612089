import { randomUUID } from 'node:crypto'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { Redis } from 'ioredis'
import { Cache, NatsInvalidationBus, RedisCacheL2, RedisClient, RedisFastPath, type CacheOptions, type CacheProtocol, type InvalidationBus, type InvalidationMessage } from '../../../actors/index.ts'
import { ActorSystem, SystemClock, type ActorRef } from '../../../runtime/index.ts'
import { childSpec, Supervisor, SupervisorEventTopic, type SupervisorEvent, type SupervisorProtocol } from '../../../supervision/index.ts'
import { waitFor } from '../../../testing/index.ts'

/** One "node": its own actor system, Redis connection, NATS connection, and a Cache under a supervisor. */
export interface CacheNode {
  readonly name: string
  readonly system: ActorSystem
  readonly cache: ActorRef<CacheProtocol<unknown>>
  readonly redis: Redis
  readonly nats: NatsConnection
  readonly bus: NatsInvalidationBus
  readonly events: SupervisorEvent[]
  close(): Promise<void>
}

export interface ClusterOptions {
  readonly redisUrl: string
  readonly natsUrl: string
  readonly options?: Partial<CacheOptions<unknown>>
  /** How the L2 reaches Redis: a RedisClient actor's fast path (default, the production wiring) or an ioredis client of its own. */
  readonly l2Via?: 'client' | 'ioredis'
  /** Loses chosen messages on their way into this node (the test's own fault, around the real bus). */
  readonly dropInto?: (node: string, message: InvalidationMessage) => boolean
}

/** A test-unique Redis prefix and NATS subject prefix, shared by the nodes of one cluster. */
export function uniqueNames(): { redisPrefix: string; subjectPrefix: string } {
  const id = randomUUID().slice(0, 8)
  return { redisPrefix: `troupe-test:cache-${id}:`, subjectPrefix: `troupe-test.cache-${id}` }
}

export async function startNode(name: string, names: ReturnType<typeof uniqueNames>, c: ClusterOptions): Promise<CacheNode> {
  const system = ActorSystem.create({ name, clock: new SystemClock() })
  const events: SupervisorEvent[] = []
  system.subscribe(SupervisorEventTopic, (e) => events.push(e))
  const redis = new Redis(c.redisUrl, { retryStrategy: () => 50, maxRetriesPerRequest: null })
  redis.on('error', () => {})
  const nats = await connect({ servers: c.natsUrl, name: `cache-test-${name}` })
  const bus = new NatsInvalidationBus({ connection: nats, subjectPrefix: names.subjectPrefix })
  const drop = c.dropInto
  const wired: InvalidationBus =
    drop === undefined ? bus : { publish: (m) => bus.publish(m), subscribe: (cache, handler) => bus.subscribe(cache, (m) => (drop(name, m) ? undefined : handler(m))) }
  const options: CacheOptions<unknown> = {
    name: 'users',
    origin: name,
    jitter: 0,
    l2:
      c.l2Via === 'ioredis'
        ? new RedisCacheL2({ redis, prefix: `${names.redisPrefix}users:`, clock: system.clock, commandTimeoutMs: 300 })
        : new RedisCacheL2({ client: RedisFastPath.of(system, 'redis'), prefix: `${names.redisPrefix}users:`, clock: system.clock, commandTimeoutMs: 300 }),
    bus: wired,
    syncIntervalMs: 200,
    syncGraceMs: 100,
    retryIntervalMs: 100,
    breaker: false,
    ...c.options,
  }
  // The Redis client first: children start in order, so the cache's L2 finds its fast path bound.
  const redisClient = childSpec({ id: 'redis', actor: RedisClient, args: [{ name: 'redis', url: c.redisUrl, commandTimeoutMs: 300, health: { intervalMs: 100, timeoutMs: 200 }, reconnect: { baseMs: 20, maxMs: 200 }, breaker: { waitInOpenMs: 300 } }] })
  const children = c.l2Via === 'ioredis' ? [childSpec({ id: 'users', actor: Cache, args: [options] })] : [redisClient, childSpec({ id: 'users', actor: Cache, args: [options] })]
  const sup: ActorRef<SupervisorProtocol> = system.spawn(Supervisor, { name: 'caches', args: [{ intensity: 3, children }] })
  let cache: ActorRef<CacheProtocol<unknown>> | null = null
  await waitFor(() => cache !== null || (void sup.ask('lookupChild', 'users').then((r) => (cache = r as ActorRef<CacheProtocol<unknown>> | null)), false), { timeoutMs: 10_000 })
  const ref = cache as unknown as ActorRef<CacheProtocol<unknown>>
  await ref.ask('stats')
  return {
    name,
    system,
    cache: ref,
    redis,
    nats,
    bus,
    events,
    close: async () => {
      await system.terminate()
      redis.disconnect()
      await nats.close()
    },
  }
}

export async function startCluster(c: ClusterOptions, count = 3): Promise<CacheNode[]> {
  const names = uniqueNames()
  const nodes: CacheNode[] = []
  for (let i = 1; i <= count; i++) nodes.push(await startNode(`n${i}`, names, c))
  // Subscriptions must be registered at the server before the first publish.
  await Promise.all(nodes.map((n) => n.nats.flush()))
  return nodes
}
